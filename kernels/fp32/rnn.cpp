#include "kernels/fp32/rnn.h"

#include "kernels/fp32/linear_dnnl.h"
#include "kernels/fp32/lstm_step.h"
#include "kernels/fp32/vmath.h"
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
  // x·Wᵀ for every step (LSTM: room for the interleaved gates); h; c; h·Rᵀ of one step; (r ⊙ h) for GRU.
  const int64_t cols =
      p.cell == RnnCell::lstm ? std::max(gh, int64_t(lstm_interleaved_rows(size_t(p.hidden)))) : gh;
  return size_t(p.seq * p.batch * cols + 4 * p.batch * p.hidden + p.batch * gh);
}

bool rnn_lstm_fusable(const RnnParams& p, bool peephole) {
  return p.cell == RnnCell::lstm && !peephole && !(p.clip > 0.f) && !p.input_forget &&
         p.act[0].kind == RnnActKind::sigmoid && p.act[1].kind == RnnActKind::tanh &&
         p.act[2].kind == RnnActKind::tanh;
}

namespace {

/// rnn_f32's scratch: x·Wᵀ [S·B rows in x's order, cols], then four [B, H] and one [B, GH].
struct Buffers {
  float *xw, *h, *c, *rh, *lin, *hr;
  int64_t cols;  ///< floats per row of xw (GH, or the interleaved gates of the fused LSTM)
};

Buffers buffers(const RnnParams& p, const RnnTensors& t, float* scratch) {
  const int64_t H = p.hidden, B = p.batch, GH = rnn_gates(p.cell) * H;
  Buffers b;
  b.cols = t.lstm_r_panels ? int64_t(lstm_interleaved_rows(size_t(H))) : GH;
  b.xw = scratch;
  b.h = b.xw + p.seq * B * b.cols;
  b.c = b.h + B * H;
  b.rh = b.c + B * H;
  b.lin = b.rh + B * H;
  b.hr = b.lin + B * H;
  return b;
}

/// xw = x·Wᵀ + biases for every step (one product over all rows of x; the fused LSTM's
/// biases come later).
void project_inputs(const RnnParams& p, const RnnTensors& t, float* xw, int64_t cols) {
  const int64_t H = p.hidden, GH = rnn_gates(p.cell) * H, rows = p.seq * p.batch;
  if (rows == 0) return;
  Eigen::Map<RowMat> xwm(xw, rows, cols);
  if (p.input == 0) {
    xwm.setZero();
  } else if (t.w_panels) {
    sgemm_panels_active().fn(size_t(rows), size_t(cols), size_t(p.input), t.x, size_t(p.input), t.w_panels, 0,
                             panels(cols), nullptr, xw, size_t(cols), t.panel_scratch);
  } else if (!t.w_packed || !t.w_packed->run(rows, t.x, xw)) {
    sgemm(0, size_t(rows), size_t(cols), size_t(p.input), t.x, size_t(p.input), t.w, size_t(p.input), nullptr, xw,
          size_t(cols));
  }
  if (!t.bias || t.lstm_r_panels) return;  // the fused LSTM adds its biases in lstm_step
  Eigen::Map<const Eigen::RowVectorXf> wb(t.bias, GH), rb(t.bias + GH, GH);
  xwm.rowwise() += wb;
  if (p.cell == RnnCell::gru) {  // Rb of z and r only; Rbh is applied inside the cell
    xwm.leftCols(2 * H).rowwise() += rb.head(2 * H);
  } else {
    xwm.rowwise() += rb;
  }
}

int64_t seq_len(const RnnParams& p, const RnnTensors& t, int64_t b) {
  return t.seq_lens ? int64_t(t.seq_lens[b]) : p.seq;
}

/// Zeros in y at the steps past each row's length.
void zero_past_lengths(const RnnParams& p, const RnnTensors& t) {
  if (!t.y || !t.seq_lens) return;
  for (int64_t b = 0; b < p.batch; ++b)
    for (int64_t tt = seq_len(p, t, b); tt < p.seq; ++tt)
      std::fill_n(t.y + tt * p.y_seq_stride + b * p.y_batch_stride, p.hidden, 0.f);
}

// The fused LSTM writes step s's hidden state straight into y when every row runs every step.
bool h_in_y(const RnnTensors& t) { return t.y && !t.seq_lens; }

int64_t step_time(const RnnParams& p, int64_t s) { return p.reverse ? p.seq - 1 - s : s; }

/// Where step s writes its hidden state, and the row stride.
std::pair<float*, int64_t> hidden_out(const RnnParams& p, const RnnTensors& t, const Buffers& m, int64_t s) {
  if (h_in_y(t)) return {t.y + step_time(p, s) * p.y_seq_stride, p.y_batch_stride};
  return {(s & 1) ? m.rh : m.h, p.hidden};
}

/// The hidden state step s reads: the one step s − 1 wrote, or the initial one.
std::pair<const float*, int64_t> hidden_in(const RnnParams& p, const RnnTensors& t, const Buffers& m, int64_t s) {
  if (s > 0) return hidden_out(p, t, m, s - 1);
  if (t.h0) return {t.h0, p.state_batch_stride};
  return {m.lin, p.hidden};
}

}  // namespace

void lstm_fused_begin(const RnnParams& p, const RnnTensors& t, float* scratch) {
  const Buffers m = buffers(p, t, scratch);
  const int64_t H = p.hidden;
  project_inputs(p, t, m.xw, m.cols);
  for (int64_t b = 0; b < p.batch; ++b) {
    std::fill_n(m.lin + b * H, H, 0.f);  // h of the first step when there is no h0
    if (t.c0) std::copy_n(t.c0 + b * p.state_batch_stride, H, m.c + b * H);
    else std::fill_n(m.c + b * H, H, 0.f);
    if (seq_len(p, t, b) == 0) {  // the state stays the initial one
      const auto [h, ldh] = hidden_in(p, t, m, 0);
      if (t.y_h) std::copy_n(h + b * ldh, H, t.y_h + b * p.state_batch_stride);
      if (t.y_c) std::copy_n(m.c + b * H, H, t.y_c + b * p.state_batch_stride);
    }
  }
  zero_past_lengths(p, t);
}

void lstm_fused_rows(const RnnParams& p, const RnnTensors& t, float* scratch, int64_t b0, int64_t b1) {
  const Buffers m = buffers(p, t, scratch);
  const int64_t H = p.hidden;
  const auto step = lstm_step_active().fn;
  const size_t panels = lstm_panels(size_t(H));
  // a zero initial state (none given, or zeros) skips the first step's product
  bool h0_zero = true;
  for (int64_t b = b0; b < b1 && t.h0 && h0_zero; ++b)
    h0_zero = std::all_of(t.h0 + b * p.state_batch_stride, t.h0 + b * p.state_batch_stride + H,
                          [](float v) { return v == 0.f; });
  for (int64_t s = 0; s < p.seq; ++s) {
    // (plain variables, not structured bindings: the lambdas below capture them, which
    // clang before 16 does not allow for bindings)
    const auto hin = hidden_in(p, t, m, s);
    const auto hout = hidden_out(p, t, m, s);
    const float* h = hin.first;
    const int64_t ldh = hin.second;
    float* h_out = hout.first;
    const int64_t ldo = hout.second;
    // x rows: t·xs + b·xb; with lengths, a reversed row b runs time L_b − 1 − s (rows past
    // their length run on as if it were 0: their results are never read)
    auto xw_row = [&](int64_t b) {
      const int64_t tt = p.reverse ? std::max<int64_t>(seq_len(p, t, b) - 1 - s, 0) : s;
      return m.xw + (tt * p.x_seq_stride + b * p.x_batch_stride) * m.cols;
    };
    // rows [r0, r1) in one call when their x rows are evenly spaced
    auto run = [&](int64_t r0, int64_t r1) {
      LstmStepArgs a;
      a.batch = size_t(r1 - r0);
      a.hidden = size_t(H);
      a.h = s == 0 && h0_zero ? nullptr : h + r0 * ldh;
      a.ldh = size_t(ldh);
      a.r_panels = t.lstm_r_panels;
      a.xw = xw_row(r0);
      a.ldxw = size_t(p.x_batch_stride * m.cols);
      a.bias = t.bias;
      a.c = m.c + r0 * H;
      a.ldc = size_t(H);
      a.h_out = h_out + r0 * ldo;
      a.ldo = size_t(ldo);
      a.descending = s % 2 == 1;  // odd steps read R backwards, from where the step before ended
      step(a, 0, panels);
    };
    if (p.reverse && t.seq_lens)
      for (int64_t b = b0; b < b1; ++b) run(b, b + 1);
    else run(b0, b1);
    if (h_in_y(t) || (!t.y && !t.seq_lens)) continue;
    // into y for the rows still running, and the final state of the rows whose last step this is
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t L = seq_len(p, t, b);
      if (s >= L) continue;
      const float* hb = h_out + b * ldo;
      if (t.y) std::copy_n(hb, H, t.y + (p.reverse ? L - 1 - s : s) * p.y_seq_stride + b * p.y_batch_stride);
      if (s != L - 1 || !t.seq_lens) continue;
      if (t.y_h) std::copy_n(hb, H, t.y_h + b * p.state_batch_stride);
      if (t.y_c) std::copy_n(m.c + b * H, H, t.y_c + b * p.state_batch_stride);
    }
  }
}

void lstm_fused_end(const RnnParams& p, const RnnTensors& t, float* scratch) {
  if (t.seq_lens) return;  // final states captured at each row's last step
  const Buffers m = buffers(p, t, scratch);
  const auto [h, ldh] = hidden_in(p, t, m, p.seq);
  for (int64_t b = 0; b < p.batch; ++b) {
    if (t.y_h) std::copy_n(h + b * ldh, p.hidden, t.y_h + b * p.state_batch_stride);
    if (t.y_c) std::copy_n(m.c + b * p.hidden, p.hidden, t.y_c + b * p.state_batch_stride);
  }
}

void rnn_f32(const RnnParams& p, const RnnTensors& t, float* scratch) {
  if (t.lstm_r_panels && rnn_lstm_fusable(p, t.peephole != nullptr)) {
    lstm_fused_begin(p, t, scratch);
    lstm_fused_rows(p, t, scratch, 0, p.batch);
    lstm_fused_end(p, t, scratch);
    return;
  }
  const int64_t H = p.hidden, B = p.batch, S = p.seq, G = rnn_gates(p.cell), GH = G * H;
  const Buffers bufs = buffers(p, t, scratch);
  float *xw = bufs.xw, *h = bufs.h, *c = bufs.c, *rh = bufs.rh, *lin = bufs.lin, *hr = bufs.hr;
  auto xrow = [&](int64_t tt, int64_t b) { return tt * p.x_seq_stride + b * p.x_batch_stride; };
  project_inputs(p, t, xw, GH);
  const float* rbh = (p.cell == RnnCell::gru && t.bias) ? t.bias + GH + 2 * H : nullptr;

  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < H; ++j) {
      h[b * H + j] = t.h0 ? t.h0[b * p.state_batch_stride + j] : 0.f;
      c[b * H + j] = t.c0 ? t.c0[b * p.state_batch_stride + j] : 0.f;
    }
  auto len = [&](int64_t b) { return seq_len(p, t, b); };
  zero_past_lengths(p, t);

  const RnnActivation &f = p.act[0], &g = p.act[1], &ha = p.act[2];
  const bool plain_lstm = rnn_lstm_fusable(p, t.peephole != nullptr);
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
