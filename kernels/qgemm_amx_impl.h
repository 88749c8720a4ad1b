// AMX-INT8 building blocks shared by the qgemm and qconv AMX kernels: tile configuration,
// the stored-tile epilogue and the pipeline that overlaps it with the next block's tiles.
// Included inside an anonymous namespace of a file built with AMX and AVX-512 flags, after
// kernels/qgemm_zmm_epilogue.h.

// The 64-byte LDTILECFG operand (palette 1).
struct alignas(64) TileConfig {
  std::uint8_t palette = 1, start_row = 0;
  std::uint8_t reserved[14] = {};
  std::uint16_t colsb[16] = {};
  std::uint8_t rows[16] = {};
};
static_assert(sizeof(TileConfig) == 64);

// GCC 12's _tile_loadconfig declares only 8 bytes of its operand as read (so stores to the
// rest of the configuration can be dropped) and _tile_loadd declares no memory read at all
// (so stores to a buffer it loads can be moved after it): both are written here in full.
inline void load_tile_config(const TileConfig& cfg) { __asm__ volatile("ldtilecfg %0" ::"m"(cfg) : "memory"); }
#define MQ_TILE_LOAD(tile, base, stride) \
  __asm__ volatile("tileloadd (%0,%1,1), %%tmm" #tile ::"r"((const void*)(base)), "r"((long)(stride)) : "memory")

// tmm0..3: C (row tile i, column tile j → 2i + j); tmm4, 5: A row tiles; tmm6, 7: B column
// tiles. Every tile is 64 bytes wide; C and A tiles have `rows` rows (16, or fewer for the
// last rows of a GEMM), B tiles 16.
inline void configure_tiles(std::size_t rows = 16) {
  TileConfig cfg;
  for (int t = 0; t < 8; ++t) {
    cfg.colsb[t] = 64;
    cfg.rows[t] = t < 6 ? static_cast<std::uint8_t>(rows) : 16;
  }
  load_tile_config(cfg);
}

inline constexpr std::size_t c_ld = 32;  // int32 row stride of a stored C block

// Zeroes the C tiles of a block of RA row tiles × RB column tiles.
template <int RA, int RB>
inline void zero_tiles() {
  _tile_zero(0);
  if constexpr (RB > 1) _tile_zero(1);
  if constexpr (RA > 1) _tile_zero(2);
  if constexpr (RA > 1 && RB > 1) _tile_zero(3);
}

// One 64-byte k step of such a block: A row tiles from a0 / a1 (row strides sa0 / sa1 bytes),
// B tiles from b0 / b1 (packed, row stride 64).
template <int RA, int RB>
inline void tile_step(const std::uint8_t* a0, long sa0, const std::uint8_t* a1, long sa1, const std::int8_t* b0,
                      const std::int8_t* b1) {
  MQ_TILE_LOAD(4, a0, sa0);
  MQ_TILE_LOAD(6, b0, 64);
  _tile_dpbusd(0, 4, 6);
  if constexpr (RB > 1) {
    MQ_TILE_LOAD(7, b1, 64);
    _tile_dpbusd(1, 4, 7);
  }
  if constexpr (RA > 1) {
    MQ_TILE_LOAD(5, a1, sa1);
    _tile_dpbusd(2, 5, 6);
    if constexpr (RB > 1) _tile_dpbusd(3, 5, 7);
  }
}

// Stores the C tiles of a block into c[32][32].
template <int RA, int RB>
void store_tiles(std::int32_t* c) {
  _tile_stored(0, c, c_ld * 4);
  if constexpr (RB > 1) _tile_stored(1, c + 16, c_ld * 4);
  if constexpr (RA > 1) _tile_stored(2, c + 16 * c_ld, c_ld * 4);
  if constexpr (RA > 1 && RB > 1) _tile_stored(3, c + 16 * c_ld + 16, c_ld * 4);
}

// Epilogue of `rows` stored rows of one 16-column vector, for one output kind: the
// parameters live in registers (the byte stores would otherwise force them to be reloaded).
template <QGemmOutput O>
void finish_vector(const QGemmParams& p, const EpiVec& e, __m512i comp, std::size_t m, std::size_t n,
                   std::size_t rows, const std::int32_t* __restrict c) {
  const std::size_t ldc = p.ldc;
  const __mmask16 mask = e.mask;
  const __m512i zp = e.zp;
  const __m512 scale = e.scale, lo = e.lo, hi = e.hi, bias = e.bias;
  if constexpr (O == QGemmOutput::u8 || O == QGemmOutput::s8) {
    auto* __restrict out = static_cast<std::uint8_t*>(p.c) + m * ldc + n;
    for (std::size_t r = 0; r < rows; ++r) {
      const __m512i acc = _mm512_add_epi32(_mm512_load_si512(c + r * c_ld), comp);
      __m512 x = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), scale);
      x = _mm512_min_ps(_mm512_max_ps(x, lo), hi);
      const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(x), zp);
      __m128i bytes = _mm512_cvtepi32_epi8(q);  // narrowed in a register: the fused
      __asm__("" : "+x"(bytes));                // memory form of vpmovdb is slower
      _mm_mask_storeu_epi8(out + r * ldc, mask, bytes);
    }
  } else if constexpr (O == QGemmOutput::f32) {
    auto* __restrict out = static_cast<float*>(p.c) + m * ldc + n;
    const bool has_bias = p.bias_f32 != nullptr, accumulate = p.accumulate;
    for (std::size_t r = 0; r < rows; ++r) {
      const __m512i acc = _mm512_add_epi32(_mm512_load_si512(c + r * c_ld), comp);
      __m512 x = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), scale);
      if (has_bias) x = _mm512_add_ps(x, bias);
      if (accumulate) x = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, out + r * ldc), x);
      _mm512_mask_storeu_ps(out + r * ldc, mask, x);
    }
  } else {
    auto* __restrict out = static_cast<std::int32_t*>(p.c) + m * ldc + n;
    for (std::size_t r = 0; r < rows; ++r)
      _mm512_mask_storeu_epi32(out + r * ldc, mask, _mm512_add_epi32(_mm512_load_si512(c + r * c_ld), comp));
  }
}

// One 16-row × 16-column piece of a stored block whose epilogue is still to run.
struct PendingPiece {
  std::size_t m = 0, rows = 0, n = 0;  // output rows [m, m + rows), columns from n
  const std::int32_t* c = nullptr;     // its int32 sums (row stride c_ld)
};

inline void finish_piece(const QGemmParams& p, const PackedView& b, const PendingPiece& d, std::size_t n1) {
  const EpiVec e = epi_vec(p, d.n, std::min(n1, d.n + 16));
  const __m512i comp = column_comp(p, b, d.n, e.mask);
  switch (p.output) {
    case QGemmOutput::u8:
    case QGemmOutput::s8: finish_vector<QGemmOutput::u8>(p, e, comp, d.m, d.n, d.rows, d.c); break;
    case QGemmOutput::f32: finish_vector<QGemmOutput::f32>(p, e, comp, d.m, d.n, d.rows, d.c); break;
    case QGemmOutput::s32: finish_vector<QGemmOutput::s32>(p, e, comp, d.m, d.n, d.rows, d.c); break;
  }
}

// Runs blocks in order. A block's epilogue is done in pieces between the k steps of the
// next block (`compute` calls the drain callback after each step), so the AVX-512
// requantization runs while the AMX unit works instead of after it.
class Pipeline {
 public:
  Pipeline(const QGemmParams& p, const PackedView& b, std::size_t n1) : p_(p), b_(b), n1_(n1) {}
  // `compute(drain)` fills the C tiles of a block of RA row tiles × RB column tiles starting
  // at packed block nb; row tile 0 holds output rows [m0, m0 + rows0), row tile 1 (if RA is
  // 2) rows [m1, m1 + rows1).
  template <int RA, int RB, class Compute>
  void run(Compute&& compute, std::size_t m0, std::size_t rows0, std::size_t m1, std::size_t rows1,
           std::size_t nb) {
    compute([this] { drain_one(); });
    flush();
    std::int32_t* c = buf_[cur_];
    cur_ ^= 1;
    store_tiles<RA, RB>(c);
    for (int j = 0; j < RB; ++j) {
      const std::size_t n = (nb + j) * 16;
      if (n >= n1_) break;
      pieces_[count_++] = {m0, rows0, n, c + 16 * j};
      if (RA > 1) pieces_[count_++] = {m1, rows1, n, c + 16 * c_ld + 16 * j};
    }
  }
  void flush() {
    while (next_ < count_) drain_one();
    next_ = count_ = 0;
  }

 private:
  void drain_one() {
    if (next_ < count_) finish_piece(p_, b_, pieces_[next_++], n1_);
  }
  const QGemmParams& p_;
  const PackedView& b_;
  std::size_t n1_;
  alignas(64) std::int32_t buf_[2][32 * c_ld];
  int cur_ = 0;
  PendingPiece pieces_[4];
  int count_ = 0, next_ = 0;
};
