#pragma once
/// One time step of the usual fp32 LSTM cell (gates i, o, f, c; σ, tanh, tanh; no peepholes,
/// clip or coupled gates) with the recurrent product and the gate arithmetic fused: the gates
/// of 8 hidden units form one 32-column panel of sgemm_panels (kernels/sgemm_panels.h), so the
/// product of one panel yields whole cells, finished in registers. A range of panels (of
/// hidden units) is the unit of work of one thread.
#include <cstddef>
#include <cstdint>
#include <span>

#include "kernels/cpu_features.h"

namespace mq::kernels {

/// Hidden units per panel (4 gates × 8 units = kSgemmPanelWidth columns).
constexpr std::size_t kLstmPanelUnits = 8;

/// Panels of `hidden` units.
inline std::size_t lstm_panels(std::size_t hidden) { return (hidden + kLstmPanelUnits - 1) / kLstmPanelUnits; }
/// Gate rows (or columns) in interleaved order: 32 per panel.
inline std::size_t lstm_interleaved_rows(std::size_t hidden) { return lstm_panels(hidden) * 4 * kLstmPanelUnits; }

/// Interleaved row of gate g (0..3 = i, o, f, c) of unit u: (u / 8) · 32 + g · 8 + u % 8.
inline std::size_t lstm_interleaved_row(std::size_t g, std::size_t u) {
  return u / kLstmPanelUnits * 4 * kLstmPanelUnits + g * kLstmPanelUnits + u % kLstmPanelUnits;
}

/// M [4·hidden × cols] (ONNX gate order, row stride ld) → out [lstm_interleaved_rows × cols],
/// rows of the padding units zero. With cols = 1 and ld = 1 it reorders a bias vector.
void lstm_interleave_rows(const float* m, std::size_t hidden, std::size_t cols, std::size_t ld, float* out);

/// Operands of one step for batch rows [0, batch).
struct LstmStepArgs {
  std::size_t batch = 0, hidden = 0;
  const float* h = nullptr;  ///< previous hidden state, row b at h + b·ldh; null: zeros (no product)
  std::size_t ldh = 0;
  /// R (interleaved rows, then sgemm_panels_pack'ed: [hidden] k × lstm_interleaved_rows columns)
  const float* r_panels = nullptr;
  /// x·Wᵀ of this step, interleaved (lstm_interleaved_rows floats), row b at xw + b·ldxw
  const float* xw = nullptr;
  std::size_t ldxw = 0;
  const float* bias = nullptr;  ///< Wb + Rb, interleaved (lstm_interleaved_rows floats), or null
  float* c = nullptr;           ///< cell state, row b at c + b·ldc, updated in place
  std::size_t ldc = 0;
  float* h_out = nullptr;  ///< new hidden state, row b at h_out + b·ldo (must not overlap h)
  std::size_t ldo = 0;
  /// Read R's panels from the last to the first. The panels are independent, so the order
  /// never changes a result; alternating it between steps makes a step start on the panels
  /// the previous step read last, still in the L2 cache (R of hidden 512, 4 MB per
  /// direction, is larger than L2 and would otherwise come whole from L3 or memory each step).
  bool descending = false;
};

/// Runs the step for the hidden units of panels [p0, p1).
using LstmStepFn = void (*)(const LstmStepArgs& a, std::size_t p0, std::size_t p1);

/// One compiled variant.
struct LstmStepVariant {
  const char* name;  ///< e.g. "lstm_step_f32__avx512".
  Isa isa;           ///< Tier the variant needs.
  LstmStepFn fn;     ///< Entry point.
};

/// Every compiled variant, lowest tier first (the first is the scalar reference).
std::span<const LstmStepVariant> lstm_step_variants();
/// The best variant at or below `isa` that the CPU supports.
const LstmStepVariant& lstm_step_select(Isa isa);
/// The variant for active_isa(), chosen once.
const LstmStepVariant& lstm_step_active();

}  // namespace mq::kernels
