// LSTM gate activations with xsimd on AVX2 (kernels/qlstm_gates_impl.h).
#include "kernels/qlstm_gates_impl.h"

namespace mq::kernels {

void lstm_gates__avx2(const float* g, std::size_t hidden, float* c, float* h) {
  lstm_gates_impl<xsimd::avx2>(g, hidden, c, h);
}

}  // namespace mq::kernels
