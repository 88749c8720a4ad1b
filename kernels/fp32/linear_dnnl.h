#pragma once
/// fp32 Linear on oneDNN: Y[M×N] = X[M×K] · Wᵀ + bias with W [N×K] reordered once into the
/// blocked layout oneDNN's matmul kernel for this CPU wants (brgemm on AVX-512 / AVX2). Built
/// once per Session; run() allocates no tensor (but a primitive for each new M) and never
/// throws.
#include <cstdint>
#include <memory>
#include <string>

#include "kernels/fp32/layer_epilogue.h"

namespace mq::kernels {

class DnnlLinear {
 public:
  /// Null when oneDNN cannot be set up (the caller falls back to sgemm). `w` must outlive
  /// the object (a constant of the Session's graph); `threads`: the OpenMP threads run()
  /// uses.
  static std::unique_ptr<DnnlLinear> create(int64_t n, int64_t k, const float* w, const float* bias,
                                            const LayerEpilogue& e, int threads);
  ~DnnlLinear();
  /// Y = epilogue(X·Wᵀ + b) for M rows (with a residual, y holds z on entry); the first run
  /// with an M builds its primitive (thread-safe).
  /// False when oneDNN reports an error (the caller falls back).
  bool run(int64_t m, const float* x, float* y) const;

 private:
  DnnlLinear();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mq::kernels
