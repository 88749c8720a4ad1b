// qlstm_sequence: dynamic-quantized LSTM direction on qgemm + quant kernels.
#include "kernels/qlstm.h"

#include <cmath>
#include <cstring>

#include "kernels/qgemm.h"
#include "kernels/qgemm_internal.h"
#include "kernels/qlstm_gates_impl.h"
#include "kernels/quant.h"
#include "kernels/variant_table.h"

namespace mq::kernels {
using qgemm_detail::align64;

void lstm_gates__avx2(const float* g, std::size_t hidden, float* c, float* h);
void lstm_gates__avx512(const float* g, std::size_t hidden, float* c, float* h);

namespace {

// Scratch layout: x_q [T·B·In] u8 | gates [T·B·4H] f32 | h_q [B·H] u8 | h, c [B·H] f32.
struct Scratch {
  std::uint8_t* xq;
  float* gates;
  std::uint8_t* hq;
  float* h;
  float* c;
};

Scratch carve(const QLstmParams& p, void* scratch) {
  auto* b = static_cast<std::uint8_t*>(scratch);
  const std::size_t TB = p.seq_len * p.batch, BH = p.batch * p.hidden;
  Scratch s;
  s.xq = b;
  b += align64(TB * p.input_size);
  s.gates = reinterpret_cast<float*>(b);
  b += align64(TB * 4 * p.hidden * sizeof(float));
  s.hq = b;
  b += align64(BH);
  s.h = reinterpret_cast<float*>(b);
  b += align64(BH * sizeof(float));
  s.c = reinterpret_cast<float*>(b);
  return s;
}

// The scalar tier's gates, on the baseline ISA (SSE2): the same algorithm, and so the same
// bits, as the AVX2 version.
void lstm_gates__scalar(const float* g, std::size_t hidden, float* c, float* h) {
  lstm_gates_impl<xsimd::sse2>(g, hidden, c, h);
}

// The one list of gates variants: drives selection, tests and benchmarks.
constexpr LstmGatesVariant gates_variants[] = {
    {"lstm_gates__scalar", Isa::scalar, lstm_gates__scalar},
    {"lstm_gates__avx2", Isa::avx2, lstm_gates__avx2},
    {"lstm_gates__avx512", Isa::avx512, lstm_gates__avx512},
};

}  // namespace

std::span<const LstmGatesVariant> lstm_gates_variants() { return gates_variants; }

const LstmGatesVariant& lstm_gates_select(Isa isa) { return select_variant(lstm_gates_variants(), isa); }

std::size_t qlstm_scratch_size(const QLstmParams& p) {
  const std::size_t TB = p.seq_len * p.batch, BH = p.batch * p.hidden;
  return align64(TB * p.input_size) + align64(TB * 4 * p.hidden * sizeof(float)) + align64(BH) +
         2 * align64(BH * sizeof(float));
}

namespace {

/// True when every value of x [n] is zero (either sign).
bool all_zero(const float* x, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    if (x[i] != 0.0f) return false;
  return true;
}

/// Copies rows [rows × cols] between strides (floats).
void copy_rows(const float* src, std::size_t lds, float* dst, std::size_t ldd, std::size_t rows,
               std::size_t cols) {
  for (std::size_t r = 0; r < rows; ++r) std::memcpy(dst + r * ldd, src + r * lds, cols * sizeof(float));
}

}  // namespace

QuantAffine qlstm_quantize_x(const QLstmParams& p, const float* x, std::uint8_t* xq, Isa isa) {
  const std::size_t n = p.seq_len * p.batch * p.input_size;
  const QuantKernels& qk = *quant_select(isa).kernels;
  float lo = 0.0f, hi = 0.0f;
  if (!p.x_q && n > 0) qk.minmax_f32(x, n, &lo, &hi);
  const QuantAffine q = p.x_q ? *p.x_q : choose_u8_params(lo, hi);
  qk.quantize_u8(x, n, q, xq);
  return q;
}

void qlstm_sequence(const QLstmParams& p, const float* x, const float* h0, const float* c0, float* y, float* h_out,
                    float* c_out, void* scratch, Isa isa) {
  const std::size_t T = p.seq_len, B = p.batch, In = p.input_size, H = p.hidden, G = 4 * H;
  const std::size_t lds = p.state_batch_stride ? p.state_batch_stride : H;
  const std::size_t y_step = p.y_step_stride ? p.y_step_stride : B * H;
  const std::size_t y_row = p.y_batch_stride ? p.y_batch_stride : H;
  const Scratch s = carve(p, scratch);
  const QuantKernels& qk = *quant_select(isa).kernels;
  const QGemmVariant& gemm = qgemm_select(isa);
  const LstmGatesFn gates = lstm_gates_select(isa).fn;
  // 1. X·W for every step at once, rows in x's order: quantize x (one range for the
  // sequence), fp32 epilogue.
  const bool x_given = p.x_u8 && p.x_q;  // quantized by the producer, at *x_q
  const QuantAffine xq = x_given ? *p.x_q : qlstm_quantize_x(p, x, s.xq, isa);
  QGemmParams gx;
  gx.m = T * B;
  gx.n = G;
  gx.k = In;
  gx.a = x_given ? p.x_u8 : s.xq;
  gx.lda = In;
  gx.a_zp = xq.zero_point;
  gx.packed_b = p.packed_w;
  gx.output = QGemmOutput::f32;
  gx.c = s.gates;
  gx.ldc = G;
  gx.per_channel = true;
  gx.a_scale = xq.scale;
  gx.w_scale = p.w_scale;
  gx.bias_f32 = p.bias;
  gemm.fn(gx, 0, gx.m, 0, gx.n);
  // the gates of step t, batch row b: s.gates + t·step_gates + b·ldg
  const std::size_t ldg = p.batch_major ? T * G : G, step_gates = p.batch_major ? G : B * G;
  // 2. Steps.
  if (h0) copy_rows(h0, lds, s.h, H, B, H);
  else std::memset(s.h, 0, B * H * sizeof(float));
  if (c0) copy_rows(c0, lds, s.c, H, B, H);
  else std::memset(s.c, 0, B * H * sizeof(float));
  bool h_zero = !h0 || all_zero(s.h, B * H);
  QGemmParams gr;
  gr.m = B;
  gr.n = G;
  gr.k = H;
  gr.a = s.hq;
  gr.lda = H;
  gr.packed_b = p.packed_r;
  gr.output = QGemmOutput::f32;
  gr.ldc = ldg;
  gr.per_channel = true;
  gr.w_scale = p.r_scale;
  gr.accumulate = true;
  for (std::size_t step = 0; step < T; ++step) {
    const std::size_t t = p.reverse ? T - 1 - step : step;
    float hl = 0.0f, hh = 0.0f;
    if (!p.h_q) qk.minmax_f32(s.h, B * H, &hl, &hh);
    const QuantAffine hq = p.h_q ? *p.h_q : choose_u8_params(hl, hh);
    float* g = s.gates + t * step_gates;
    // a zero h quantizes to the zero point when the scale is neither 0 nor NaN
    const bool zero_quantized =
        h_zero && hq.zero_point >= 0 && hq.zero_point <= 255 && hq.scale != 0.0f && !std::isnan(hq.scale);
    if (zero_quantized) {
      // every accumulator is 0: the epilogue's float(0) · scale, added
      for (std::size_t b = 0; b < B; ++b)
        for (std::size_t n = 0; n < G; ++n) g[b * ldg + n] = g[b * ldg + n] + 0.0f * (hq.scale * p.r_scale[n]);
    } else {
      qk.quantize_u8(s.h, B * H, hq, s.hq);
      gr.a_zp = hq.zero_point;
      gr.a_scale = hq.scale;
      gr.c = g;
      gemm.fn(gr, 0, B, 0, G);
    }
    h_zero = false;
    for (std::size_t b = 0; b < B; ++b) gates(g + b * ldg, H, s.c + b * H, s.h + b * H);
    if (y) copy_rows(s.h, H, y + t * y_step, y_row, B, H);
  }
  if (h_out) copy_rows(s.h, H, h_out, lds, B, H);
  if (c_out) copy_rows(s.c, H, c_out, lds, B, H);
}

}  // namespace mq::kernels
