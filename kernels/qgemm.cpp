// qgemm packing, the variant list, selection, work splitting and the scalar packed kernel.
#include <algorithm>
#include <cassert>

#include "kernels/qgemm_internal.h"
#include "kernels/variant_table.h"

namespace mq::kernels {
using namespace qgemm_detail;

namespace {

// The one list of qgemm variants: drives selection, tests and benchmarks.
constexpr QGemmVariant variants[] = {
    {"qgemm_u8s8_1x16__scalar", Isa::scalar, 1, 16, qgemm_u8s8_1x16__scalar},
    {"qgemm_u8s8_4x16__avx2", Isa::avx2, 4, 16, qgemm_u8s8_4x16__avx2},
    {"qgemm_u8s8_6x16__avxvnni", Isa::avxvnni, 6, 16, qgemm_u8s8_6x16__avxvnni},
    {"qgemm_u8s8_8x48__avx512vnni", Isa::avx512vnni, 8, 48, qgemm_u8s8_8x48__avx512vnni},
    {"qgemm_u8s8_32x32__amx", Isa::amx, 32, 32, qgemm_u8s8_32x32__amx},
};

// True when a·w0 + a·w1 can leave int16 for some a in [0, 255] (vpmaddubsw saturates).
bool pair_saturates(int w0, int w1) {
  const int s = w0 + w1;
  if (w0 >= 0 && w1 >= 0) return 255 * s > 32767;
  if (w0 <= 0 && w1 <= 0) return 255 * s < -32768;
  return false;
}

}  // namespace

std::span<const QGemmVariant> qgemm_variants() { return variants; }

const QGemmVariant& qgemm_select(Isa isa) { return select_variant(qgemm_variants(), isa); }

const QGemmVariant& qgemm_active() {
  static const QGemmVariant& v = qgemm_select(active_isa());
  return v;
}

std::size_t qgemm_packed_size(std::size_t n, std::size_t k) {
  const std::size_t n_blocks = (n + qgemm_block_n - 1) / qgemm_block_n;
  const std::size_t k4 = (k + 3) / 4;
  return sizeof(PackedHeader) + align64(n_blocks * 16 * sizeof(std::int32_t)) + align64(n_blocks) +
         n_blocks * padded_k4(k4) * 64;
}

void qgemm_pack_b(const std::int8_t* w, std::size_t ldw, std::size_t n, std::size_t k, void* packed) {
  assert((reinterpret_cast<std::uintptr_t>(packed) & 63) == 0);
  const std::size_t n_blocks = (n + qgemm_block_n - 1) / qgemm_block_n;
  const std::size_t k4 = (k + 3) / 4, k4p = padded_k4(k4);
  auto* base = static_cast<std::uint8_t*>(packed);
  auto* h = reinterpret_cast<PackedHeader*>(base);
  h->magic = packed_magic;
  h->n = n;
  h->k = k;
  h->k4 = k4;
  h->n_blocks = n_blocks;
  h->colsum_offset = sizeof(PackedHeader);
  h->exact_offset = h->colsum_offset + align64(n_blocks * 16 * sizeof(std::int32_t));
  h->data_offset = h->exact_offset + align64(n_blocks);
  auto* colsum = reinterpret_cast<std::int32_t*>(base + h->colsum_offset);
  auto* exact = base + h->exact_offset;
  auto* data = reinterpret_cast<std::int8_t*>(base + h->data_offset);
  for (std::size_t nb = 0; nb < n_blocks; ++nb) {
    bool needs_exact = false;
    for (std::size_t j = 0; j < 16; ++j) {
      const std::size_t col = nb * 16 + j;
      std::int32_t sum = 0;
      for (std::size_t q = 0; q < k4; ++q) {
        std::int8_t quad[4] = {0, 0, 0, 0};
        for (std::size_t i = 0; i < 4; ++i) {
          const std::size_t kk = 4 * q + i;
          if (col < n && kk < k) quad[i] = w[col * ldw + kk];
          sum += quad[i];
        }
        needs_exact = needs_exact || pair_saturates(quad[0], quad[1]) || pair_saturates(quad[2], quad[3]);
        std::memcpy(data + (nb * k4p + q) * 64 + j * 4, quad, 4);
      }
      colsum[col] = sum;
    }
    exact[nb] = needs_exact ? 1 : 0;
    std::memset(data + (nb * k4p + k4) * 64, 0, (k4p - k4) * 64);
  }
}

const std::int32_t* qgemm_packed_colsum(const void* packed) { return view(packed).colsum; }

QGemmSplit qgemm_plan(std::size_t m, std::size_t n, std::size_t k, std::size_t threads) {
  constexpr std::size_t min_macs = 64 * 1024;
  QGemmSplit s;
  const std::size_t macs = m * n * k;
  std::size_t tasks = std::min(threads, std::max<std::size_t>(1, macs / min_macs));
  if (tasks <= 1) return s;
  const std::size_t row_tiles = (m + 7) / 8;
  if (row_tiles >= 4 * tasks || (row_tiles >= tasks && m >= 64)) {
    s.split_m = true;
    s.step = (row_tiles + tasks - 1) / tasks * 8;
    s.tasks = (m + s.step - 1) / s.step;
  } else {
    // Small M: each thread streams its own slice of the weights (48-column granules).
    const std::size_t granules = (n + 47) / 48;
    tasks = std::min(tasks, granules);
    if (tasks <= 1) return s;
    s.split_m = false;
    s.step = (granules + tasks - 1) / tasks * 48;
    s.tasks = (n + s.step - 1) / s.step;
  }
  return s;
}

void qgemm_run_task(const QGemmVariant& v, const QGemmParams& p, const QGemmSplit& s, std::size_t task) {
  if (s.tasks <= 1) {
    v.fn(p, 0, p.m, 0, p.n);
  } else if (s.split_m) {
    const std::size_t m0 = task * s.step;
    v.fn(p, m0, std::min(p.m, m0 + s.step), 0, p.n);
  } else {
    const std::size_t n0 = task * s.step;
    v.fn(p, 0, p.m, n0, std::min(p.n, n0 + s.step));
  }
}

// Scalar kernel over the packed layout: one row × one 16-column block at a time.
void qgemm_u8s8_1x16__scalar(const QGemmParams& p, std::size_t m0, std::size_t m1, std::size_t n0,
                             std::size_t n1) {
  const PackedView b = view(p.packed_b);
  const std::size_t k4 = b.h->k4;
  for (std::size_t nb = n0 / 16; nb * 16 < n1; ++nb) {
    const std::int8_t* blk = b.data + nb * b.block_bytes;
    const std::size_t nend = std::min(n1, nb * 16 + 16);
    for (std::size_t m = m0; m < m1; ++m) {
      const std::uint8_t* a = p.a + m * p.lda;
      std::int32_t acc[16] = {};
      for (std::size_t q = 0; q < k4; ++q) {
        std::uint8_t av[4];
        const std::int32_t quad = load_quad(a, q, p.k);
        std::memcpy(av, &quad, 4);
        const std::int8_t* wq = blk + q * 64;
        for (std::size_t j = 0; j < 16; ++j)
          for (std::size_t i = 0; i < 4; ++i) acc[j] += av[i] * wq[j * 4 + i];
      }
      for (std::size_t col = nb * 16; col < nend; ++col)
        store_one(p, m, col, wrap_add(acc[col - nb * 16], column_term(p, b.colsum, col)));
    }
  }
}

}  // namespace mq::kernels
