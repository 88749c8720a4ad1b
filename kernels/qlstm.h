// int8 LSTM (one direction, dynamic or static quantization): X·W for the whole sequence as one
// qgemm, per step h quantized to u8 and R·h by qgemm with an fp32 epilogue, gates and c/h in
// fp32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernels/quant.h"

namespace mq::kernels {

/// One LSTM direction. Gate order (ONNX): i, o, f, c. No peepholes, no clip, default
/// activations (sigmoid, tanh, tanh); the engine rejects other attributes.
struct QLstmParams {
  std::size_t seq_len = 0, batch = 0, input_size = 0, hidden = 0;  ///< T, B, In, H.
  const void* packed_w = nullptr;                                  ///< qgemm_pack_b of W [4H × In] (s8).
  const float* w_scale = nullptr;                                  ///< 4H per-row scales of W.
  const void* packed_r = nullptr;                                  ///< qgemm_pack_b of R [4H × H] (s8).
  const float* r_scale = nullptr;                                  ///< 4H per-row scales of R.
  const float* bias = nullptr;         ///< Optional 4H bias (ONNX Wb + Rb, pre-summed).
  bool reverse = false;                ///< Process time steps T−1 … 0.
  bool batch_major = false;            ///< x is [B×T×In] (ONNX layout 1) rather than [T×B×In].
  const QuantAffine* x_q = nullptr;    ///< Static u8 parameters for x (null: from x's range).
  const std::uint8_t* x_u8 = nullptr;  ///< x already quantized at *x_q (then x is unused).
  const QuantAffine* h_q = nullptr;    ///< Static u8 parameters for h (null: per step, dynamic).
  /// Floats between the time steps and between the batch rows of y (0: B·H and H, y [T×B×H]).
  std::size_t y_step_stride = 0, y_batch_stride = 0;
  /// Floats between the batch rows of h0, c0, h_out and c_out (0: H).
  std::size_t state_batch_stride = 0;
};

/// Scratch bytes qlstm_sequence needs (64-byte aligned buffer).
std::size_t qlstm_scratch_size(const QLstmParams& p);

/// x [T×B×In] quantized to u8 into xq with *p.x_q, or (null) with parameters from x's range:
/// what qlstm_sequence does first; returns the parameters.
QuantAffine qlstm_quantize_x(const QLstmParams& p, const float* x, std::uint8_t* xq, Isa isa = active_isa());

/// Runs the sequence with the variants `isa` selects (quant, qgemm, gates). x [T×B×In] (or
/// [B×T×In]); h0, c0 or null (zeros); y, h_out, c_out or null (not written); strides as in
/// the params. Quantization of x and of each h_t is per tensor, from its own min/max (dynamic)
/// unless static parameters are given. A zero initial h skips the first step's product: its
/// accumulators are 0 and the epilogue adds 0 · scale, the same bits as computing it.
void qlstm_sequence(const QLstmParams& p, const float* x, const float* h0, const float* c0, float* y, float* h_out,
                    float* c_out, void* scratch, Isa isa = active_isa());

/// Gate activations and the c/h update of one batch row: g [4H] pre-activations in ONNX
/// order (i, o, f, c); c [H] is updated in place and h [H] written. Every variant gives the
/// same bits (a NaN result may differ in sign or payload).
using LstmGatesFn = void (*)(const float* g, std::size_t hidden, float* c, float* h);

/// One compiled gates variant.
struct LstmGatesVariant {
  const char* name;  ///< e.g. "lstm_gates__avx2".
  Isa isa;           ///< Tier the variant needs.
  LstmGatesFn fn;    ///< Entry point.
};

/// Every compiled gates variant, lowest tier first (including those this CPU cannot run).
std::span<const LstmGatesVariant> lstm_gates_variants();

/// The best gates variant at or below `isa` that the CPU supports.
const LstmGatesVariant& lstm_gates_select(Isa isa);

}  // namespace mq::kernels
