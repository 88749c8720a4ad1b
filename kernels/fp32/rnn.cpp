#include "kernels/fp32/rnn.h"

#include "kernels/fp32/vmath.h"
#include "kernels/fp32/linear_dnnl.h"
#include "kernels/sgemm.h"
#include "kernels/sgemm_panels.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>

namespace mq::kernels {

namespace {
using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

float activate(const RnnActivation& a, float x) {
  switch (a.kind) {
    case RnnActKind::sigmoid: return 1.f / (1.f + std::exp(-x));
    case RnnActKind::tanh: return std::tanh(x);
    case RnnActKind::relu: return x < 0.f ? 0.f : x;
    case RnnActKind::hard_sigmoid: return std::clamp(a.alpha * x + a.beta, 0.f, 1.f);
    case RnnActKind::leaky_relu: return x >= 0.f ? x : a.alpha * x;
    case RnnActKind::thresholded_relu: return x > a.alpha ? x : 0.f;
    case RnnActKind::scaled_tanh: return a.alpha * std::tanh(a.beta * x);
    case RnnActKind::affine: return a.alpha * x + a.beta;
    case RnnActKind::elu: return x >= 0.f ? x : a.alpha * (std::exp(x) - 1.f);
    case RnnActKind::softsign: return x / (1.f + std::fabs(x));
    case RnnActKind::softplus: return std::log1p(std::exp(x));
  }
  return x;
}

float clip(const RnnParams& p, float v) { return p.clip > 0.f ? std::clamp(v, -p.clip, p.clip) : v; }

size_t panels(int64_t n) { return (size_t(n) + kSgemmPanelWidth - 1) / kSgemmPanelWidth; }
}  // namespace

int64_t rnn_gates(RnnCell cell) { return cell == RnnCell::lstm ? 4 : cell == RnnCell::gru ? 3 : 1; }

size_t rnn_scratch_floats(const RnnParams& p) {
  const int64_t g = rnn_gates(p.cell), gh = g * p.hidden;
  // x·Wᵀ for every step; h; c; h·Rᵀ of one step; (r ⊙ h) for GRU.
  return size_t(p.seq * p.batch * gh + 4 * p.batch * p.hidden + p.batch * gh);
}

void rnn_f32(const RnnParams& p, const RnnTensors& t, float* scratch) {
  const int64_t H = p.hidden, B = p.batch, S = p.seq, G = rnn_gates(p.cell), GH = G * H;
  float* xw = scratch;         // [S*B rows in x's order, GH]
  float* h = xw + S * B * GH;  // [B, H]
  float* c = h + B * H;        // [B, H]
  float* rh = c + B * H;       // [B, H] (GRU: r ⊙ h)
  float* lin = rh + B * H;     // [B, H] (GRU: (r ⊙ h)·Rhᵀ)
  float* hr = lin + B * H;     // [B, GH]

  // x rows are contiguous (row index t*xs + b*xb): one GEMM over all of them.
  const int64_t rows = S * B;
  auto xrow = [&](int64_t tt, int64_t b) { return tt * p.x_seq_stride + b * p.x_batch_stride; };
  if (rows > 0) {
    Eigen::Map<RowMat> xwm(xw, rows, GH);
    if (p.input == 0) {
      xwm.setZero();
    } else if (t.w_panels) {
      sgemm_panels_active().fn(size_t(rows), size_t(GH), size_t(p.input), t.x, size_t(p.input), t.w_panels, 0,
                               panels(GH), nullptr, xw, size_t(GH), t.panel_scratch);
    } else if (!t.w_packed || !t.w_packed->run(rows, t.x, xw)) {
      sgemm(0, size_t(rows), size_t(GH), size_t(p.input), t.x, size_t(p.input), t.w, size_t(p.input), nullptr, xw,
            size_t(GH));
    }
    if (t.bias) {
      Eigen::Map<const Eigen::RowVectorXf> wb(t.bias, GH), rb(t.bias + GH, GH);
      xwm.rowwise() += wb;
      if (p.cell == RnnCell::gru) {  // Rb of z and r only; Rbh is applied inside the cell
        xwm.leftCols(2 * H).rowwise() += rb.head(2 * H);
      } else {
        xwm.rowwise() += rb;
      }
    }
  }
  const float* rbh = (p.cell == RnnCell::gru && t.bias) ? t.bias + GH + 2 * H : nullptr;

  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < H; ++j) {
      h[b * H + j] = t.h0 ? t.h0[b * p.state_batch_stride + j] : 0.f;
      c[b * H + j] = t.c0 ? t.c0[b * p.state_batch_stride + j] : 0.f;
    }
  auto len = [&](int64_t b) { return t.seq_lens ? int64_t(t.seq_lens[b]) : S; };
  if (t.y)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t tt = len(b); tt < S; ++tt)
        std::fill_n(t.y + tt * p.y_seq_stride + b * p.y_batch_stride, H, 0.f);

  const RnnActivation &f = p.act[0], &g = p.act[1], &ha = p.act[2];
  const bool plain_lstm = p.cell == RnnCell::lstm && !t.peephole && !(p.clip > 0.f) && !p.input_forget &&
                          f.kind == RnnActKind::sigmoid && g.kind == RnnActKind::tanh &&
                          ha.kind == RnnActKind::tanh;
  for (int64_t s = 0; s < S; ++s) {
    if (H > 0 && t.r_panels)
      sgemm_panels_active().fn(size_t(B), size_t(GH), size_t(H), h, size_t(H), t.r_panels, 0, panels(GH), nullptr,
                               hr, size_t(GH), t.panel_scratch);
    else if (H > 0 && !(t.r_packed && B > 2 && t.r_packed->run(B, h, hr)))
      sgemm(0, size_t(B), size_t(GH), size_t(H), h, size_t(H), t.r, size_t(H), nullptr, hr, size_t(GH));
    for (int64_t b = 0; b < B; ++b) {
      const int64_t L = len(b);
      if (s >= L) continue;
      const int64_t tt = p.reverse ? L - 1 - s : s;
      const float* gx = xw + xrow(tt, b) * GH;
      const float* gr = hr + b * GH;
      float* hb = h + b * H;
      float* cb = c + b * H;
      if (p.cell == RnnCell::lstm && plain_lstm) {
        // the usual cell, vectorized: gates i, o, f, c = x·Wᵀ + h·Rᵀ (+ biases), σ(i, o, f), tanh(c)
        float* gates = hr + b * GH;
        for (int64_t j = 0; j < GH; ++j) gates[j] += gx[j];
        sigmoid_f32(gates, gates, 3 * H);
        tanh_f32(gates + 3 * H, gates + 3 * H, H);
        for (int64_t j = 0; j < H; ++j) cb[j] = gates[2 * H + j] * cb[j] + gates[j] * gates[3 * H + j];
        float* tc = rh + b * H;
        tanh_f32(cb, tc, H);
        for (int64_t j = 0; j < H; ++j) hb[j] = gates[H + j] * tc[j];
      } else if (p.cell == RnnCell::lstm) {
        const float* P = t.peephole;
        for (int64_t j = 0; j < H; ++j) {
          const float cp = cb[j];
          float gi = gx[j] + gr[j] + (P ? P[j] * cp : 0.f);
          float gf = gx[2 * H + j] + gr[2 * H + j] + (P ? P[2 * H + j] * cp : 0.f);
          const float gc = gx[3 * H + j] + gr[3 * H + j];
          const float i = activate(f, clip(p, gi));
          const float fg = p.input_forget ? 1.f - i : activate(f, clip(p, gf));
          const float cc = activate(g, clip(p, gc));
          const float cn = fg * cp + i * cc;
          float go = gx[H + j] + gr[H + j] + (P ? P[H + j] * cn : 0.f);
          const float o = activate(f, clip(p, go));
          cb[j] = cn;
          hb[j] = o * activate(ha, cn);
        }
      } else if (p.cell == RnnCell::gru) {
        // z and r; then the candidate.
        float* zbuf = hr + b * GH;  // reuse: z in [0,H), r in [H,2H) after activation
        for (int64_t j = 0; j < 2 * H; ++j) zbuf[j] = activate(f, clip(p, gx[j] + gr[j]));
        if (p.linear_before_reset) {
          for (int64_t j = 0; j < H; ++j) {
            const float lr = gr[2 * H + j] + (rbh ? rbh[j] : 0.f);
            const float hc = activate(g, clip(p, gx[2 * H + j] + zbuf[H + j] * lr));
            const float z = zbuf[j];
            hb[j] = (1.f - z) * hc + z * hb[j];
          }
        } else {
          // (r ⊙ h)·Rhᵀ for this batch row.
          float* rhb = rh + b * H;
          for (int64_t j = 0; j < H; ++j) rhb[j] = zbuf[H + j] * hb[j];
          float* linb = lin + b * H;
          sgemm(0, 1, size_t(H), size_t(H), rhb, size_t(H), t.r + 2 * H * H, size_t(H), nullptr, linb, size_t(H));
          for (int64_t j = 0; j < H; ++j) {
            const float hc = activate(g, clip(p, gx[2 * H + j] + linb[j] + (rbh ? rbh[j] : 0.f)));
            const float z = zbuf[j];
            hb[j] = (1.f - z) * hc + z * hb[j];
          }
        }
      } else {
        for (int64_t j = 0; j < H; ++j) hb[j] = activate(f, clip(p, gx[j] + gr[j]));
      }
      if (t.y) std::copy_n(hb, H, t.y + tt * p.y_seq_stride + b * p.y_batch_stride);
    }
  }
  for (int64_t b = 0; b < B; ++b) {
    if (t.y_h) std::copy_n(h + b * H, H, t.y_h + b * p.state_batch_stride);
    if (t.y_c) std::copy_n(c + b * H, H, t.y_c + b * p.state_batch_stride);
  }
}

}  // namespace mq::kernels
