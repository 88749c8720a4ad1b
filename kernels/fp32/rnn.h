#pragma once
/// fp32 recurrent layers (ONNX LSTM, GRU, RNN), one direction per call: X·Wᵀ for every time
/// step as one GEMM, then one h·Rᵀ GEMM per step; the usual LSTM cell with packed weights runs
/// each step as one fused product and gate pass (kernels/fp32/lstm_step.h), in parts that let
/// the caller split the batch rows over threads.
#include <cstddef>
#include <cstdint>

namespace mq::kernels {

/// Activation functions of the recurrent cells (ONNX names).
enum class RnnActKind {
  sigmoid,
  tanh,
  relu,
  hard_sigmoid,
  leaky_relu,
  thresholded_relu,
  scaled_tanh,
  affine,
  elu,
  softsign,
  softplus
};

/// One activation with its parameters.
struct RnnActivation {
  RnnActKind kind = RnnActKind::sigmoid;
  float alpha = 0.f;  ///< meaning depends on kind (ONNX activation_alpha)
  float beta = 0.f;   ///< meaning depends on kind (ONNX activation_beta)
};

/// The cell type.
enum class RnnCell { lstm, gru, rnn };

/// Sizes, strides and options of one direction. Strides are in elements.
struct RnnParams {
  RnnCell cell = RnnCell::lstm;
  int64_t seq = 0, batch = 0, input = 0, hidden = 0;
  int64_t x_seq_stride = 0, x_batch_stride = 0;  ///< in rows: x[t, b, :] = x + (t*xs + b*xb)*input
  int64_t y_seq_stride = 0, y_batch_stride = 0;  ///< y[t, b, :] = y + t*ys + b*yb
  int64_t state_batch_stride = 0;                ///< h0/c0/y_h/y_c[b, :] = p + b*stride
  bool reverse = false;                          ///< process time backwards
  float clip = 0.f;                              ///< > 0: clip gate pre-activations to ±clip
  bool input_forget = false;                     ///< LSTM: couple input and forget gates
  bool linear_before_reset = false;              ///< GRU: apply R before the reset gate
  RnnActivation act[3];                          ///< f, g, h (LSTM), f, g (GRU), f (RNN)
};

/// The operands and results of one direction; optional ones may be null.
class DnnlLinear;

struct RnnTensors {
  const float* x = nullptr;           ///< input sequence (see strides)
  const float* w = nullptr;           ///< [gates*hidden, input]
  const float* r = nullptr;           ///< [gates*hidden, hidden]
  const float* bias = nullptr;        ///< [2*gates*hidden]: Wb then Rb, or null
  const float* peephole = nullptr;    ///< LSTM [3*hidden]: i, o, f, or null
  const int32_t* seq_lens = nullptr;  ///< [batch] valid lengths, or null (all = seq)
  const float* h0 = nullptr;          ///< initial hidden state, or null (zeros)
  const float* c0 = nullptr;          ///< LSTM initial cell state, or null (zeros)
  float* y = nullptr;                 ///< every step's hidden state (zeros past a length), or null
  float* y_h = nullptr;               ///< last hidden state, or null
  float* y_c = nullptr;               ///< LSTM last cell state, or null
  /// w and r reordered once for oneDNN's matmul (one thread), or null: the input
  /// projection and the recurrent product of batches above 2 then skip sgemm's per-call
  /// packing of the weights.
  const DnnlLinear* w_packed = nullptr;
  const DnnlLinear* r_packed = nullptr;
  /// w and r packed for sgemm_panels (kernels/sgemm_panels.h), or null: used instead of the
  /// above for the input projection and the recurrent product (few rows over large weights);
  /// `panel_scratch` then holds sgemm_panels_scratch_floats of the larger of the two.
  const float* w_panels = nullptr;
  const float* r_panels = nullptr;
  float* panel_scratch = nullptr;
  /// R for lstm_step (rows interleaved by lstm_interleave_rows, then sgemm_panels_pack'ed), or
  /// null. When set (and rnn_lstm_fusable), w / w_packed / w_panels hold W with interleaved
  /// rows (lstm_interleaved_rows of them) and bias is the interleaved sum Wb + Rb (or null).
  const float* lstm_r_panels = nullptr;
};

/// Gates per cell: 4 (LSTM), 3 (GRU), 1 (RNN).
int64_t rnn_gates(RnnCell cell);
/// Floats of scratch rnn_f32 needs.
size_t rnn_scratch_floats(const RnnParams& p);
/// Runs one direction. seq_lens values must lie in [0, seq].
void rnn_f32(const RnnParams& p, const RnnTensors& t, float* scratch);

/// True when the cell is the usual LSTM (σ, tanh, tanh; no peepholes, clip or coupled gates),
/// which lstm_step computes.
bool rnn_lstm_fusable(const RnnParams& p, bool peephole);
/// The fused LSTM direction in parts (t.lstm_r_panels set, same scratch as rnn_f32): begin
/// once (input projection, initial state), then every step for batch rows [b0, b1), for
/// disjoint ranges that may run at once on different threads (rows never mix), then end.
/// rnn_f32 runs them in sequence.
void lstm_fused_begin(const RnnParams& p, const RnnTensors& t, float* scratch);
void lstm_fused_rows(const RnnParams& p, const RnnTensors& t, float* scratch, int64_t b0, int64_t b1);
void lstm_fused_end(const RnnParams& p, const RnnTensors& t, float* scratch);

}  // namespace mq::kernels
