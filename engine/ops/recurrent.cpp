// Executors of the fp32 recurrent layers (LSTM, GRU, RNN): attributes to kernel parameters,
// weights packed once per Session, directions on threads, and the fused LSTM's batch rows
// split over threads when there is one direction.
#include <algorithm>
#include <cstdlib>
#include <new>
#include <memory>
#include <vector>

#include "engine/executor.h"
#include "engine/ops/panel_weights.h"
#include "engine/ops/recurrent.h"
#include "engine/thread_pool.h"
#include "kernels/fp32/lstm_step.h"
#include "kernels/fp32/rnn.h"

namespace mq::ops {

namespace {

/// A direction's LSTM weights for the fused step (kernels/fp32/lstm_step.h): W with its gate
/// rows interleaved, reordered for oneDNN (and panel-packed when large), R interleaved and
/// panel-packed.
struct LstmGateWeights {
  AlignedFloats w, w_panels, r_panels;
  std::vector<float> bias;  ///< Wb + Rb, interleaved, when B is a constant (else computed per run)
  std::unique_ptr<kernels::DnnlLinear> w_dnnl;
};

/// What a recurrent layer keeps for the Session, per direction.
struct RecurrentState {
  LinearState linear;
  PlanCache<LstmGateWeights> lstm;
};
std::shared_ptr<void> prepare_recurrent(const Node&) { return std::make_shared<RecurrentState>(); }

/// Wb + Rb of one direction (b: [2·4·H]), interleaved.
std::vector<float> gate_bias(const float* b, int64_t H) {
  std::vector<float> sum(size_t(4 * H)), out(kernels::lstm_interleaved_rows(size_t(H)));
  for (size_t j = 0; j < sum.size(); ++j) sum[j] = b[j] + b[sum.size() + j];
  kernels::lstm_interleave_rows(sum.data(), size_t(H), 1, 1, out.data());
  return out;
}

std::unique_ptr<LstmGateWeights> make_gate_weights(const float* w, const float* r, const float* constant_bias,
                                                   int64_t H, int64_t I) {
  auto g = std::make_unique<LstmGateWeights>();
  const size_t rows = kernels::lstm_interleaved_rows(size_t(H));
  if (constant_bias) g->bias = gate_bias(constant_bias, H);
  g->w.resize(rows * size_t(I));
  kernels::lstm_interleave_rows(w, size_t(H), size_t(I), size_t(I), g->w.data());
  g->w_dnnl = kernels::DnnlLinear::create(int64_t(rows), I, g->w.data(), nullptr, {}, 1);
  if (int64_t(rows) * I * int64_t(sizeof(float)) >= kPanelMinWeightBytes) {
    g->w_panels.resize(kernels::sgemm_panels_packed_floats(rows, size_t(I)));
    kernels::sgemm_panels_pack(g->w.data(), rows, size_t(I), size_t(I), g->w_panels.data());
  }
  std::vector<float> ri(rows * size_t(H));
  kernels::lstm_interleave_rows(r, size_t(H), size_t(H), size_t(H), ri.data());
  g->r_panels.resize(kernels::sgemm_panels_packed_floats(rows, size_t(H)));
  kernels::sgemm_panels_pack(ri.data(), rows, size_t(H), size_t(H), g->r_panels.data());
  return g;
}

/// Multiply-adds of a direction's recurrent products below which its batch rows are not split
/// over threads: on a busy machine the thread that takes the other half shares its core and
/// the caller waits for it (lstm example, batch 8, 2 threads, others' builds running: 0.49 ms
/// split vs 0.33 ms on one thread), so only work far above a scheduler tick is split.
constexpr int64_t kMinSplitMacs = int64_t(1) << 26;

/// Runs one fused LSTM direction with its batch rows split over `threads` threads: the rows'
/// recurrences never mix, so each thread runs every step of its rows without waiting for the
/// others (each reads all of R once per step from its own core's cache).
void run_lstm_rows(ExecContext& c, const kernels::RnnParams& p, const kernels::RnnTensors& t, float* scratch,
                   size_t threads) {
  kernels::lstm_fused_begin(p, t, scratch);
  c.pool->parallel_for(threads, [&](size_t w) {
    kernels::lstm_fused_rows(p, t, scratch, p.batch * int64_t(w) / int64_t(threads),
                             p.batch * int64_t(w + 1) / int64_t(threads));
  });
  kernels::lstm_fused_end(p, t, scratch);
}

kernels::RnnActivation activation(const std::string& name, const std::vector<float>& alphas,
                                  const std::vector<float>& betas, size_t& ai, size_t& bi) {
  using K = kernels::RnnActKind;
  struct Entry {
    const char* name;
    K kind;
    int uses;  // 0 none, 1 alpha, 2 alpha and beta
    float alpha, beta;
  };
  static const Entry table[] = {{"Sigmoid", K::sigmoid, 0, 0, 0},
                                {"Tanh", K::tanh, 0, 0, 0},
                                {"Relu", K::relu, 0, 0, 0},
                                {"HardSigmoid", K::hard_sigmoid, 2, 0.2f, 0.5f},
                                {"LeakyRelu", K::leaky_relu, 1, 0.01f, 0},
                                {"ThresholdedRelu", K::thresholded_relu, 1, 1.f, 0},
                                {"ScaledTanh", K::scaled_tanh, 2, 1.f, 1.f},
                                {"Affine", K::affine, 2, 1.f, 0.f},
                                {"Elu", K::elu, 1, 1.f, 0},
                                {"Softsign", K::softsign, 0, 0, 0},
                                {"Softplus", K::softplus, 0, 0, 0}};
  for (const Entry& e : table) {
    if (name != e.name) continue;
    kernels::RnnActivation a{e.kind, e.alpha, e.beta};
    if (e.uses >= 1 && ai < alphas.size()) a.alpha = alphas[ai++];
    if (e.uses >= 2 && bi < betas.size()) a.beta = betas[bi++];
    return a;
  }
  fail<UnsupportedError>("activation '", name, "' is not supported");
}

template <kernels::RnnCell Cell>
void run_recurrent(ExecContext& c) {
  const Attributes& at = c.attrs();
  const Tensor& x = c.in(0);
  const Tensor& w = c.in(1);
  const Tensor& r = c.in(2);
  const std::string dir = at.get_string_or("direction", "forward");
  const int64_t D = dir == "bidirectional" ? 2 : 1;
  const int64_t layout = at.get_int_or("layout", 0);
  const int64_t S = x.dim(layout == 0 ? 0 : 1), B = x.dim(layout == 0 ? 1 : 0), I = x.dim(2);
  const int64_t H = r.dim(2);
  const int64_t G = kernels::rnn_gates(Cell), GH = G * H;
  const size_t n_acts = Cell == kernels::RnnCell::lstm ? 3 : Cell == kernels::RnnCell::gru ? 2 : 1;
  static const char* defaults[3][3] = {{"Sigmoid", "Tanh", "Tanh"}, {"Sigmoid", "Tanh", ""}, {"Tanh", "", ""}};
  const int cell_i = Cell == kernels::RnnCell::lstm ? 0 : Cell == kernels::RnnCell::gru ? 1 : 2;
  auto names = at.get_strings_or("activations", {});
  const auto alphas = at.get_floats_or("activation_alpha", {});
  const auto betas = at.get_floats_or("activation_beta", {});
  if (names.empty())
    for (int64_t d = 0; d < D; ++d)
      for (size_t k = 0; k < n_acts; ++k) names.push_back(defaults[cell_i][k]);
  std::vector<int32_t> lens;
  if (c.has(4)) {
    for (int64_t v : c.in(4).to_int64()) {
      if (v < 0 || v > S)
        fail<InvalidArgument>(c.node.describe(), ": sequence_lens value ", v, " is outside [0, ", S, "]");
      lens.push_back(int32_t(v));
    }
    if (int64_t(lens.size()) != B) fail<ShapeError>(c.node.describe(), ": sequence_lens must have ", B, " values");
  }
  auto opt = [&](size_t i) -> const float* { return c.has(i) ? c.in(i).data<float>() : nullptr; };
  const float* bias = opt(3);
  const float* h0 = opt(5);
  const float* c0 = Cell == kernels::RnnCell::lstm ? opt(6) : nullptr;
  const float* peep = Cell == kernels::RnnCell::lstm ? opt(7) : nullptr;
  float* y = c.outputs.size() > 0 ? c.out(0).data<float>() : nullptr;
  float* yh = c.outputs.size() > 1 ? c.out(1).data<float>() : nullptr;
  float* yc = c.outputs.size() > 2 ? c.out(2).data<float>() : nullptr;

  kernels::RnnParams p;
  p.cell = Cell;
  p.seq = S;
  p.batch = B;
  p.input = I;
  p.hidden = H;
  p.x_seq_stride = layout == 0 ? B : 1;
  p.x_batch_stride = layout == 0 ? 1 : S;
  p.y_seq_stride = layout == 0 ? D * B * H : D * H;
  p.y_batch_stride = layout == 0 ? H : S * D * H;
  p.state_batch_stride = layout == 0 ? H : D * H;
  p.clip = at.get_float_or("clip", 0.f);
  p.input_forget = at.get_int_or("input_forget", 0) != 0;
  p.linear_before_reset = at.get_int_or("linear_before_reset", 0) != 0;
  std::vector<kernels::RnnParams> params(size_t(D), p);
  size_t ai = 0, bi = 0;
  for (int64_t d = 0; d < D; ++d) {
    for (size_t k = 0; k < n_acts; ++k)
      params[d].act[k] = activation(names[d * n_acts + k], alphas, betas, ai, bi);
    params[d].reverse = dir == "reverse" || d == 1;
  }
  // the directions are independent: one thread each when the Session has two
  const size_t floats = (kernels::rnn_scratch_floats(p) + 15) / 16 * 16;  // each direction's on a cache line
  struct Free {
    void operator()(float* f) const { std::free(f); }
  };
  // uninitialized (every use writes first), 64-byte aligned like the arena's values
  std::unique_ptr<float[], Free> scratch(static_cast<float*>(
      std::aligned_alloc(kTensorAlignment, std::max<size_t>(floats * size_t(D), 16) * sizeof(float))));
  if (!scratch) throw std::bad_alloc();
  auto* state = static_cast<RecurrentState*>(c.state);
  if (!c.node.input(1)->is_constant() || !c.node.input(2)->is_constant() || I == 0 || H == 0) state = nullptr;
  LinearState* packed = state ? &state->linear : nullptr;
  // the usual LSTM cell: one fused product and gate pass per step over gate-interleaved weights
  std::vector<std::shared_ptr<LstmGateWeights>> gates(static_cast<size_t>(D));
  std::vector<std::vector<float>> run_bias(static_cast<size_t>(D));  // a non-constant B's, per run
  auto fused = [&](int64_t d) {
    return state && Cell == kernels::RnnCell::lstm && kernels::lstm_step_active().isa != kernels::Isa::scalar &&
           kernels::rnn_lstm_fusable(params[size_t(d)], peep != nullptr);
  };
  std::vector<std::shared_ptr<kernels::DnnlLinear>> wp(static_cast<size_t>(D)), rp(static_cast<size_t>(D));
  std::vector<std::shared_ptr<PanelWeights>> wpan(static_cast<size_t>(D)), rpan(static_cast<size_t>(D));
  // the per-step recurrent product runs T times per call: a library call's fixed cost per step
  // outweighs the product at few rows, so it takes the panels at any weight size
  const bool w_panels = packed && use_panels(S * B, GH, I), r_panels = packed && use_step_panels(B);
  // A repacked for sgemm_panels: the fused LSTM's input projection on few rows, or the other
  // cells' products (uninitialized: the kernel writes it first)
  const bool all_fused = fused(0) && fused(D - 1);
  const size_t panel_floats =
      all_fused ? (S * B <= kPanelMaxRows ? kernels::sgemm_panels_scratch_floats(size_t(S * B), size_t(I)) : 0)
      : w_panels || r_panels
          ? kernels::sgemm_panels_scratch_floats(size_t(std::max(S * B, B)), size_t(std::max(I, H)))
          : 0;
  const auto panel_scratch = std::make_unique_for_overwrite<float[]>(panel_floats * size_t(D));
  auto direction = [&](size_t dd) {
    const int64_t d = int64_t(dd);
    const int64_t so = layout == 0 ? d * B * H : d * H;  // state offset of this direction
    kernels::RnnTensors t;
    t.x = x.data<float>();
    t.w = w.data<float>() + d * GH * I;
    t.r = r.data<float>() + d * GH * H;
    t.bias = bias ? bias + d * 2 * GH : nullptr;
    t.peephole = peep ? peep + d * 3 * H : nullptr;
    t.seq_lens = lens.empty() ? nullptr : lens.data();
    t.h0 = h0 ? h0 + so : nullptr;
    t.c0 = c0 ? c0 + so : nullptr;
    t.y = y ? y + (layout == 0 ? d * B * H : d * H) : nullptr;
    t.y_h = yh ? yh + so : nullptr;
    t.y_c = yc ? yc + so : nullptr;
    if (fused(d)) {
      const bool constant_bias = bias && c.node.input(3)->is_constant();
      gates[dd] = state->lstm.get(
          {d}, [&] { return make_gate_weights(t.w, t.r, constant_bias ? t.bias : nullptr, H, I); });
      const LstmGateWeights& g = *gates[dd];
      t.w = g.w.data();
      t.w_packed = g.w_dnnl.get();
      if (!g.w_panels.empty() && S * B <= kPanelMaxRows) t.w_panels = g.w_panels.data();
      t.lstm_r_panels = g.r_panels.data();
      if (bias && g.bias.empty()) run_bias[dd] = gate_bias(t.bias, H);
      t.bias = !bias ? nullptr : g.bias.empty() ? run_bias[dd].data() : g.bias.data();
      t.panel_scratch = panel_scratch.get() + dd * panel_floats;
    } else if (packed) {
      // weights reordered once per Session (and direction) for oneDNN's matmul
      auto make = [&](int64_t n, int64_t k, const float* m) {
        return kernels::DnnlLinear::create(n, k, m, nullptr, {}, 1);
      };
      wp[dd] = packed->dnnl.get({d, 0}, [&] { return make(GH, I, t.w); });
      rp[dd] = packed->dnnl.get({d, 1}, [&] { return make(GH, H, t.r); });
      t.w_packed = wp[dd].get();
      t.r_packed = rp[dd].get();
      // few rows over large weights: panels streamed once per product
      if (w_panels) t.w_panels = (wpan[dd] = pack_panels(*packed, {d, 0}, t.w, GH, I))->packed.data();
      if (r_panels) t.r_panels = (rpan[dd] = pack_panels(*packed, {d, 1}, t.r, GH, H))->packed.data();
      t.panel_scratch = panel_scratch.get() + dd * panel_floats;
    }
    const size_t threads = c.pool && c.threads > 1 ? std::min(size_t(c.threads), c.pool->size()) : 1;
    if (D == 1 && t.lstm_r_panels && threads > 1 && B > 1 && S * B * 4 * H * H >= kMinSplitMacs)
      run_lstm_rows(c, params[dd], t, scratch.get() + dd * floats, std::min(threads, size_t(B)));
    else kernels::rnn_f32(params[dd], t, scratch.get() + dd * floats);
  };
  if (D > 1 && c.pool && c.threads > 1) c.pool->parallel_for(size_t(D), direction);
  else
    for (int64_t d = 0; d < D; ++d) direction(size_t(d));
}
}  // namespace

void register_recurrent_exec() {
  set_executor(OpKind::LSTM, {run_recurrent<kernels::RnnCell::lstm>, prepare_recurrent});
  set_executor(OpKind::GRU, {run_recurrent<kernels::RnnCell::gru>, prepare_recurrent});
  set_executor(OpKind::RNN, {run_recurrent<kernels::RnnCell::rnn>, prepare_recurrent});
}

}  // namespace mq::ops
