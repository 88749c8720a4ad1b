#include "kernels/fp32/shape.h"

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/cpu_features.h"
#include "kernels/variant_table.h"

namespace mq::kernels {

namespace {

/// One row of `n` elements read `stride` elements apart.
template <class T>
void copy_row(const std::byte* src, std::byte* dst, int64_t n, int64_t stride) {
  const T* s = reinterpret_cast<const T*>(src);
  T* d = reinterpret_cast<T*>(dst);
  for (int64_t i = 0; i < n; ++i) std::memcpy(d + i, s + i * stride, sizeof(T));
}

void copy_row_any(const std::byte* src, std::byte* dst, int64_t n, int64_t stride, size_t es) {
  if (stride == 1) {
    std::memcpy(dst, src, size_t(n) * es);
    return;
  }
  switch (es) {
    case 1: copy_row<uint8_t>(src, dst, n, stride); return;
    case 2: copy_row<uint16_t>(src, dst, n, stride); return;
    case 4: copy_row<uint32_t>(src, dst, n, stride); return;
    case 8: copy_row<uint64_t>(src, dst, n, stride); return;
    default:
      for (int64_t i = 0; i < n; ++i) std::memcpy(dst + size_t(i) * es, src + i * stride * int64_t(es), es);
  }
}

/// Maps an out-of-range coordinate back into [0, n) for the non-constant pad modes.
int64_t pad_source(int64_t i, int64_t n, PadMode mode) {
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case PadMode::edge: return i < 0 ? 0 : n - 1;
    case PadMode::wrap: return ((i % n) + n) % n;
    case PadMode::reflect: {
      if (n == 1) return 0;
      int64_t period = 2 * (n - 1);
      int64_t m = ((i % period) + period) % period;
      return m < n ? m : period - m;
    }
    case PadMode::constant: break;
  }
  return -1;
}

struct PadState {
  const std::byte* src;
  std::byte* dst;
  const PadParams* p;
  int64_t in_strides[kMaxCopyRank];
  size_t es;
};

/// Writes the output block of dim `d` starting at `dst`, reading the source block at `src`
/// (nullptr when the block lies in the constant border).
std::byte* pad_rec(PadState& st, int d, const std::byte* src, std::byte* dst) {
  const PadParams& p = *st.p;
  const int64_t n_out = p.out_dims[d], n_in = p.in_dims[d], b = p.begin[d];
  const size_t es = st.es;
  auto source = [&](int64_t o) -> const std::byte* {
    if (!src) return nullptr;
    int64_t i = o - b;
    int64_t s = p.mode == PadMode::constant ? (i >= 0 && i < n_in ? i : -1) : pad_source(i, n_in, p.mode);
    return s >= 0 ? src + s * st.in_strides[d] * int64_t(es) : nullptr;
  };
  if (d + 1 < p.rank) {
    for (int64_t o = 0; o < n_out; ++o) dst = pad_rec(st, d + 1, source(o), dst);
    return dst;
  }
  // Last dim: the border element by element, the interior in one copy.
  int64_t lo = b > 0 ? b : 0, hi = b + n_in < n_out ? b + n_in : n_out;
  if (hi < lo) hi = lo;
  for (int64_t o = 0; o < n_out; ++o) {
    if (o == lo && hi > lo) {
      if (src) std::memcpy(dst, src + (lo - b) * int64_t(es), size_t(hi - lo) * es);
      else fill(dst, p.value, es, hi - lo);
      dst += size_t(hi - lo) * es;
      o = hi - 1;
      continue;
    }
    const std::byte* e = source(o);
    std::memcpy(dst, e ? e : p.value, es);
    dst += es;
  }
  return dst;
}

/// The generic copy when the innermost dim is contiguous in the source and holds `Bytes`:
/// rows of the second-innermost dim copied in a loop of fixed-size copies.
/// Odometer over dims [0, last]: moves `s` to the next source row (strides in elements of
/// `es` bytes); false after the last one.
inline bool next_row(const std::byte*& s, int64_t* idx, const int64_t* dims, const int64_t* strides, int last,
                     size_t es) {
  for (int k = last; k >= 0; --k) {
    s += strides[k] * int64_t(es);
    if (++idx[k] < dims[k]) return true;
    s -= strides[k] * dims[k] * int64_t(es);
    idx[k] = 0;
  }
  return false;
}

template <size_t Bytes>
void copy_short_rows(const std::byte* src, std::byte* dst, int r, const int64_t* dims, const int64_t* strides,
                     size_t es) {
  const int64_t m = dims[r - 2], sm = strides[r - 2] * int64_t(es);
  int64_t idx[kMaxCopyRank] = {};
  const std::byte* s = src;
  do {
    for (int64_t i = 0; i < m; ++i, dst += Bytes) std::memcpy(dst, s + i * sm, Bytes);
  } while (next_row(s, idx, dims, strides, r - 3, es));
}

/// dst[j·dj + i] = src[j + i·si] for i < NI, j < nj.
template <class E, int NI>
void transpose_narrow(const E* src, E* dst, int64_t nj, int64_t si, int64_t dj) {
  for (int64_t j = 0; j < nj; ++j)
    for (int i = 0; i < NI; ++i) std::memcpy(dst + j * dj + i, src + j + i * si, sizeof(E));
}

template <class E>
void transpose_tiles(const E* src, E* dst, int r, const int64_t* dims, const int64_t* strides, int j) {
  int64_t dst_strides[kMaxCopyRank];
  dst_strides[r - 1] = 1;
  for (int k = r - 2; k >= 0; --k) dst_strides[k] = dst_strides[k + 1] * dims[k + 1];
  const int64_t nj = dims[j], ni = dims[r - 1], si = strides[r - 1], dj = dst_strides[j];
  constexpr int64_t T = 16;
  int64_t idx[kMaxCopyRank] = {};
  int64_t s_off = 0, d_off = 0;
  for (;;) {
    if (ni <= 4) {  // few output columns (an image's channels): every column streamed along j at once
      switch (ni) {
        case 2: transpose_narrow<E, 2>(src + s_off, dst + d_off, nj, si, dj); break;
        case 3: transpose_narrow<E, 3>(src + s_off, dst + d_off, nj, si, dj); break;
        default: transpose_narrow<E, 4>(src + s_off, dst + d_off, nj, si, dj); break;
      }
    } else
      for (int64_t jb = 0; jb < nj; jb += T) {
        const int64_t je = std::min(nj, jb + T);
        for (int64_t ib = 0; ib < ni; ib += T) {
          const int64_t ie = std::min(ni, ib + T);
          for (int64_t jj = jb; jj < je; ++jj) {
            const E* s = src + s_off + jj;
            E* d = dst + d_off + jj * dj;
            for (int64_t ii = ib; ii < ie; ++ii) std::memcpy(d + ii, s + ii * si, sizeof(E));  // any alignment
          }
        }
      }
    // odometer over the other dims
    int k = r - 2;
    for (; k >= 0; --k) {
      if (k == j) continue;
      s_off += strides[k];
      d_off += dst_strides[k];
      if (++idx[k] < dims[k]) break;
      s_off -= strides[k] * dims[k];
      d_off -= dst_strides[k] * dims[k];
      idx[k] = 0;
    }
    if (k < 0) return;
  }
}

/// A transpose (the source's contiguous dim j is not the output's innermost): copies in
/// 16 × 16 tiles of dims j and innermost so reads and writes both stay in a few cache lines.
bool copy_transposed(const std::byte* src, std::byte* dst, int r, const int64_t* dims, const int64_t* strides,
                     size_t es) {
  if (r < 2 || strides[r - 1] == 1 || dims[r - 1] < 2) return false;
  int j = -1;
  for (int k = 0; k < r - 1; ++k)
    if (strides[k] == 1 && dims[k] >= 4) j = k;
  if (j < 0) return false;
  switch (es) {
    case 1:
      transpose_tiles(reinterpret_cast<const uint8_t*>(src), reinterpret_cast<uint8_t*>(dst), r, dims, strides, j);
      return true;
    case 2:
      transpose_tiles(reinterpret_cast<const uint16_t*>(src), reinterpret_cast<uint16_t*>(dst), r, dims, strides,
                      j);
      return true;
    case 4:
      transpose_tiles(reinterpret_cast<const uint32_t*>(src), reinterpret_cast<uint32_t*>(dst), r, dims, strides,
                      j);
      return true;
    case 8:
      transpose_tiles(reinterpret_cast<const uint64_t*>(src), reinterpret_cast<uint64_t*>(dst), r, dims, strides,
                      j);
      return true;
    default: return false;
  }
}

#define MQ_VBMI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi,bmi2")))

// Rows [first, first + count) of 16 bytes at column j, as the 128-bit lanes of one register.
template <int First, int Count>
MQ_VBMI inline __m512i row_lanes(const uint8_t* const* rows, int64_t j) {
  auto row = [&](int c) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[c] + j)); };
  if constexpr (Count <= 0) {
    return _mm512_setzero_si512();
  } else {
    __m512i t = _mm512_castsi128_si512(row(First));
    if constexpr (Count > 1) t = _mm512_inserti32x4(t, row(First + 1), 1);
    if constexpr (Count > 2) t = _mm512_inserti32x4(t, row(First + 2), 2);
    if constexpr (Count > 3) t = _mm512_inserti32x4(t, row(First + 3), 3);
    return t;
  }
}

/// dst[j·P + c] = rows[c][j] for j < nj, c < P (2 ≤ P ≤ 8): P byte rows interleaved, 16
/// columns at a time by a byte permutation of two registers (AVX512-VBMI).
template <int P>
MQ_VBMI void interleave_rows_vbmi(const uint8_t* const* rows, int64_t nj, uint8_t* dst) {
  alignas(64) uint8_t index[128];
  for (int k = 0; k < 128; ++k) index[k] = uint8_t((k % P) * 16 + (k / P) % 16);  // row k % P, column k / P
  const __m512i lo_idx = _mm512_load_si512(index), hi_idx = _mm512_load_si512(index + 64);
  constexpr int out = P * 16;  // bytes per 16 columns
  const __mmask64 lo_mask = _bzhi_u64(~0ull, unsigned(out < 64 ? out : 64));
  const __mmask64 hi_mask = out > 64 ? _bzhi_u64(~0ull, unsigned(out - 64)) : 0;
  int64_t j = 0;
  for (; j + 16 <= nj; j += 16, dst += out) {
    const __m512i t0 = row_lanes<0, (P < 4 ? P : 4)>(rows, j), t1 = row_lanes<4, P - 4>(rows, j);
    _mm512_mask_storeu_epi8(dst, lo_mask, _mm512_permutex2var_epi8(t0, lo_idx, t1));
    if constexpr (out > 64) _mm512_mask_storeu_epi8(dst + 64, hi_mask, _mm512_permutex2var_epi8(t0, hi_idx, t1));
  }
  for (; j < nj; ++j, dst += P)
    for (int c = 0; c < P; ++c) dst[c] = rows[c][j];
}

MQ_VBMI void interleave_rows_vbmi(const uint8_t* const* rows, int P, int64_t nj, uint8_t* dst) {
  switch (P) {
    case 2: return interleave_rows_vbmi<2>(rows, nj, dst);
    case 3: return interleave_rows_vbmi<3>(rows, nj, dst);
    case 4: return interleave_rows_vbmi<4>(rows, nj, dst);
    case 5: return interleave_rows_vbmi<5>(rows, nj, dst);
    case 6: return interleave_rows_vbmi<6>(rows, nj, dst);
    case 7: return interleave_rows_vbmi<7>(rows, nj, dst);
    default: return interleave_rows_vbmi<8>(rows, nj, dst);
  }
}

#undef MQ_VBMI

/// A byte transpose whose output ends in a few columns (one or two dims, 2 to 8 bytes) read
/// from rows that are contiguous in the source along the dim before them (an int8
/// space-to-depth or NCHW → NHWC of a 3-channel image): those rows interleaved with
/// AVX512-VBMI. False when the shape is another or the tier has no VBMI.
bool interleave_rows(const std::byte* src, std::byte* dst, int r, const int64_t* dims, const int64_t* strides) {
  static const bool vbmi = cpu_features().avx512vbmi && isa_allows(active_isa(), Isa::avx512);
  if (!vbmi || r < 2) return false;
  for (int t = 1; t <= 2 && t < r; ++t) {  // t trailing dims after the source-contiguous dim j
    const int j = r - 1 - t;
    int64_t P = 1;
    for (int k = j + 1; k < r; ++k) P *= dims[k];
    if (strides[j] != 1 || dims[j] < 16 || P < 2 || P > 8) continue;
    int64_t offs[8];  // source offset of each output column
    for (int64_t c = 0; c < P; ++c)
      offs[c] =
          t == 1 ? c * strides[r - 1] : (c / dims[r - 1]) * strides[r - 2] + (c % dims[r - 1]) * strides[r - 1];
    const int64_t nj = dims[j], row_bytes = nj * P;
    int64_t idx[kMaxCopyRank] = {};
    const std::byte* s = src;
    do {
      const uint8_t* rows[8];
      for (int64_t c = 0; c < P; ++c) rows[c] = reinterpret_cast<const uint8_t*>(s) + offs[c];
      interleave_rows_vbmi(rows, int(P), nj, reinterpret_cast<uint8_t*>(dst));
      dst += row_bytes;
    } while (j > 0 && next_row(s, idx, dims, strides, j - 1, 1));
    return true;
  }
  return false;
}

}  // namespace

void strided_copy(const void* src_v, void* dst_v, const StridedCopyParams& p) {
  const std::byte* src = static_cast<const std::byte*>(src_v) + p.offset * int64_t(p.elem_size);
  std::byte* dst = static_cast<std::byte*>(dst_v);
  const size_t es = p.elem_size;
  // Drop size-1 dims and merge dims the source walks contiguously.
  int64_t dims[kMaxCopyRank], strides[kMaxCopyRank];
  int r = 0;
  for (int k = 0; k < p.rank; ++k) {
    if (p.dims[k] == 0) return;
    if (p.dims[k] == 1) continue;
    if (r > 0 && strides[r - 1] == p.strides[k] * p.dims[k]) {
      dims[r - 1] *= p.dims[k];
      strides[r - 1] = p.strides[k];
    } else {
      dims[r] = p.dims[k];
      strides[r] = p.strides[k];
      ++r;
    }
  }
  if (r == 0) {
    std::memcpy(dst, src, es);
    return;
  }
  if (es == 1 && interleave_rows(src, dst, r, dims, strides)) return;
  if (copy_transposed(src, dst, r, dims, strides, es)) return;
  const int64_t n = dims[r - 1], st = strides[r - 1];
  const size_t row_bytes = size_t(n) * es;
  if (r >= 2 && st == 1 && row_bytes < 4) {
    // rows of one to three bytes (an int8 depth-to-space): the same, byte-sized
    switch (row_bytes) {
      case 1: return copy_short_rows<1>(src, dst, r, dims, strides, es);
      case 2: return copy_short_rows<2>(src, dst, r, dims, strides, es);
      default: return copy_short_rows<3>(src, dst, r, dims, strides, es);
    }
  }
  if (r >= 2 && st == 1 && row_bytes <= 32 && row_bytes % 4 == 0) {
    // short contiguous rows (a depth-to-space: a few channels at a time): inlined copies of a
    // fixed size along the next dim, instead of one library call per row
    switch (row_bytes / 4) {
      case 1: return copy_short_rows<4>(src, dst, r, dims, strides, es);
      case 2: return copy_short_rows<8>(src, dst, r, dims, strides, es);
      case 3: return copy_short_rows<12>(src, dst, r, dims, strides, es);
      case 4: return copy_short_rows<16>(src, dst, r, dims, strides, es);
      case 5: return copy_short_rows<20>(src, dst, r, dims, strides, es);
      case 6: return copy_short_rows<24>(src, dst, r, dims, strides, es);
      case 7: return copy_short_rows<28>(src, dst, r, dims, strides, es);
      default: return copy_short_rows<32>(src, dst, r, dims, strides, es);
    }
  }
  int64_t idx[kMaxCopyRank] = {};
  const std::byte* s = src;
  do {
    copy_row_any(s, dst, n, st, es);
    dst += row_bytes;
  } while (next_row(s, idx, dims, strides, r - 2, es));
}

/// Rows up to this many bytes are copied inline by copy_blocks.
constexpr size_t kInlineBlockBytes = 512;

void copy_blocks(const void* src_v, void* dst_v, int64_t rows, size_t block_bytes, size_t dst_pitch) {
  if (block_bytes == 0) return;
  const std::byte* src = static_cast<const std::byte*>(src_v);
  std::byte* dst = static_cast<std::byte*>(dst_v);
  if (block_bytes >= 16 && block_bytes <= kInlineBlockBytes) {
    // short rows (a channel Concat in NHWC: a few dozen values per pixel): fixed 16-byte
    // copies the compiler inlines, instead of one library call per row; a length that is not
    // a multiple of 16 ends with the row's last 16 bytes (overlapping bytes already copied)
    const size_t last = block_bytes - 16;
    for (int64_t i = 0; i < rows; ++i) {
      std::byte* d = dst + size_t(i) * dst_pitch;
      const std::byte* s = src + size_t(i) * block_bytes;
      for (size_t o = 0; o < last; o += 16) std::memcpy(d + o, s + o, 16);
      std::memcpy(d + last, s + last, 16);
    }
    return;
  }
  if (block_bytes >= 8 && block_bytes < 16) {  // two overlapping 8-byte moves a row
    const size_t last = block_bytes - 8;
    for (int64_t i = 0; i < rows; ++i) {
      std::byte* d = dst + size_t(i) * dst_pitch;
      const std::byte* s = src + size_t(i) * block_bytes;
      std::memcpy(d, s, 8);
      std::memcpy(d + last, s + last, 8);
    }
    return;
  }
  for (int64_t i = 0; i < rows; ++i)
    std::memcpy(dst + size_t(i) * dst_pitch, src + size_t(i) * block_bytes, block_bytes);
}

void gather(const void* data_v, void* out_v, size_t es, int64_t outer, int64_t axis_dim, int64_t inner,
            const int64_t* indices, int64_t num_indices) {
  const std::byte* data = static_cast<const std::byte*>(data_v);
  std::byte* out = static_cast<std::byte*>(out_v);
  const size_t block = size_t(inner) * es;
  if (block == 0) return;
  for (int64_t o = 0; o < outer; ++o) {
    const std::byte* base = data + size_t(o * axis_dim) * block;
    for (int64_t j = 0; j < num_indices; ++j) {
      std::memcpy(out, base + size_t(indices[j]) * block, block);
      out += block;
    }
  }
}

void fill(void* dst_v, const void* value, size_t es, int64_t n) {
  std::byte* dst = static_cast<std::byte*>(dst_v);
  if (n <= 0) return;
  std::memcpy(dst, value, es);
  // Doubling copies: fast for every element size.
  int64_t done = 1;
  while (done < n) {
    int64_t k = done < n - done ? done : n - done;
    std::memcpy(dst + size_t(done) * es, dst, size_t(k) * es);
    done += k;
  }
}

void pad(const void* src, void* dst, const PadParams& p) {
  PadState st{static_cast<const std::byte*>(src), static_cast<std::byte*>(dst), &p, {}, p.elem_size};
  int64_t out_n = 1;
  for (int k = 0; k < p.rank; ++k) out_n *= p.out_dims[k];
  if (out_n == 0) return;
  if (p.rank == 0) {
    std::memcpy(dst, src, p.elem_size);
    return;
  }
  int64_t s = 1;
  for (int k = p.rank - 1; k >= 0; --k) {
    st.in_strides[k] = s;
    s *= p.in_dims[k];
  }
  pad_rec(st, 0, st.src, st.dst);
}

}  // namespace mq::kernels
