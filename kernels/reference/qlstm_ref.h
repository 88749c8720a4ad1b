// fp32 LSTM reference (ONNX semantics, gate order i, o, f, c), the oracle of qlstm_sequence.
#pragma once

#include <cstddef>

namespace mq::kernels::reference {

/// w [4H×In], r [4H×H] row-major float weights, bias [4H] or null; other arguments as
/// qlstm_sequence.
void lstm_f32(std::size_t seq_len, std::size_t batch, std::size_t input_size, std::size_t hidden, const float* w,
              const float* r, const float* bias, bool reverse, const float* x, const float* h0, const float* c0,
              float* y, float* h_out, float* c_out);

}  // namespace mq::kernels::reference
