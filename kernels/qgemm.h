// int8 GEMM: C[M×N] = epilogue((A[M×K] u8 − a_zp) · B[N×K]ᵀ s8), B packed once.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

#include "kernels/cpu_features.h"

namespace mq::kernels {

/// Columns per packed weight block: B is stored as [N/16][K/4][16 columns][4 k] bytes.
inline constexpr std::size_t qgemm_block_n = 16;

/// What the qgemm epilogue writes to C.
enum class QGemmOutput {
  u8,   ///< requantized: clamp(rne(float(acc + bias32) * mult) + out_zp, qmin, qmax)
  s8,   ///< same, signed output
  f32,  ///< float(acc) * a_scale * w_scale[n] + bias_f32[n] (+ C when accumulate)
  s32,  ///< acc + bias32[n]
};

/// One qgemm call. acc[m][n] = Σ_k (a[m][k] − a_zp) · w[n][k] (int32, wrapping).
struct QGemmParams {
  std::size_t m = 0, n = 0, k = 0;        ///< Problem size.
  const std::uint8_t* a = nullptr;        ///< Activations, row-major, row stride lda bytes.
  std::size_t lda = 0;                    ///< Row stride of A in bytes (≥ k).
  std::int32_t a_zp = 0;                  ///< Zero point of A.
  const void* packed_b = nullptr;         ///< From qgemm_pack_b (64-byte aligned).
  QGemmOutput output = QGemmOutput::s32;  ///< Epilogue kind.
  void* c = nullptr;                      ///< Output, row-major, element type by `output`.
  std::size_t ldc = 0;                    ///< Row stride of C in elements (≥ n).
  const std::int32_t* bias32 = nullptr;   ///< Optional int32 bias per column (u8/s8/s32).
  bool per_channel = false;               ///< multiplier / w_scale hold n values (else 1).
  const float* multiplier = nullptr;      ///< Requantization multiplier (u8/s8).
  std::int32_t out_zp = 0;                ///< Output zero point (u8/s8).
  std::int32_t qmin = 0, qmax = 255;      ///< Output clamp in the quantized domain (ReLU/Clip).
  float a_scale = 1.0f;                   ///< Scale of A (f32).
  const float* w_scale = nullptr;         ///< Weight scale(s) (f32).
  const float* bias_f32 = nullptr;        ///< Optional float bias per column (f32).
  bool accumulate = false;                ///< f32: add the result into C.
};

/// The requantizing epilogue on one compensated accumulator, as every qgemm variant computes it:
/// min(max(rne(float(acc) · multiplier) + zp, qmin), qmax), the clamp taken in the float domain
/// before rounding (the bounds are integers, so the order does not change the result; a NaN
/// from hostile scales becomes qmin, and crossed bounds qmin > qmax give qmax, as ONNX's Clip
/// and the SIMD max-then-min do).
inline std::int32_t requantize_value(std::int32_t acc, float multiplier, std::int32_t zp, std::int32_t qmin,
                                     std::int32_t qmax) {
  float x = static_cast<float>(acc) * multiplier;
  const float lo = static_cast<float>(qmin - zp), hi = static_cast<float>(qmax - zp);
  x = x > lo ? x : lo;
  x = x < hi ? x : hi;
  return static_cast<std::int32_t>(std::nearbyint(x)) + zp;
}

/// A micro-kernel driver: computes rows [m0, m1) × columns [n0, n1) of C. n0 must be a
/// multiple of qgemm_block_n (n1 may be n).
using QGemmFn = void (*)(const QGemmParams& p, std::size_t m0, std::size_t m1, std::size_t n0, std::size_t n1);

/// One compiled qgemm variant (ISA and register tile).
struct QGemmVariant {
  const char* name;  ///< e.g. "qgemm_u8s8_8x48__avx512vnni".
  Isa isa;           ///< Tier the variant needs.
  int mr, nr;        ///< Register tile (rows × columns).
  QGemmFn fn;        ///< Entry point.
};

/// Every compiled variant, lowest tier first (including those this CPU cannot run).
std::span<const QGemmVariant> qgemm_variants();

/// The best variant whose tier is ≤ isa and supported by the CPU.
const QGemmVariant& qgemm_select(Isa isa);

/// The variant for active_isa(), chosen once.
const QGemmVariant& qgemm_active();

/// Bytes needed by qgemm_pack_b for an N×K weight matrix.
std::size_t qgemm_packed_size(std::size_t n, std::size_t k);

/// Packs row-major s8 weights w[N×K] (row stride ldw) into `packed` (64-byte aligned,
/// qgemm_packed_size bytes): blocks of 16 columns × 4 k, column sums for the zero-point
/// term, and per block whether the AVX2 int16 pair step could saturate.
void qgemm_pack_b(const std::int8_t* w, std::size_t ldw, std::size_t n, std::size_t k, void* packed);

/// Column sums Σ_k w[n][k] stored in a packed buffer (n padded to a multiple of 16).
const std::int32_t* qgemm_packed_colsum(const void* packed);

/// Computes a range with the active variant.
inline void qgemm(const QGemmParams& p, std::size_t m0, std::size_t m1, std::size_t n0, std::size_t n1) {
  qgemm_active().fn(p, m0, m1, n0, n1);
}

/// Computes the whole product with the active variant.
inline void qgemm(const QGemmParams& p) { qgemm_active().fn(p, 0, p.m, 0, p.n); }

/// How qgemm_parallel splits a call: `tasks` ranges of rows (split_m) or of columns.
struct QGemmSplit {
  std::size_t tasks = 1;  ///< Number of ranges.
  bool split_m = true;    ///< Rows (true) or columns (false).
  std::size_t step = 0;   ///< Rows or columns per range (columns: multiple of 16).
};

/// Plans a split for `threads` threads; each range gets at least ~64K MACs.
QGemmSplit qgemm_plan(std::size_t m, std::size_t n, std::size_t k, std::size_t threads);

/// Runs range `task` of a plan with variant `v`.
void qgemm_run_task(const QGemmVariant& v, const QGemmParams& p, const QGemmSplit& s, std::size_t task);

/// Runs qgemm on a pool exposing size() and parallel_for(n, fn) (mq::ThreadPool).
template <class Pool>
void qgemm_parallel(Pool& pool, const QGemmParams& p, const QGemmVariant& v = qgemm_active()) {
  const QGemmSplit s = qgemm_plan(p.m, p.n, p.k, pool.size());
  if (s.tasks <= 1) {
    v.fn(p, 0, p.m, 0, p.n);
    return;
  }
  pool.parallel_for(s.tasks, [&](std::size_t t) { qgemm_run_task(v, p, s, t); });
}

}  // namespace mq::kernels
