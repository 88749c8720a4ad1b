#pragma once
/// fp32 2-D convolution on oneDNN (Debian's libdnnl): a primitive compiled once for one
/// geometry, layout and epilogue, with the weights reordered once into the layout oneDNN's
/// kernel for this CPU wants (brgconv / jit on AVX-512 and AVX2 in NHWC). Built when a plan
/// is compiled; run() allocates no tensor and never throws.
#include <memory>
#include <string>

#include "kernels/fp32/conv.h"
#include "kernels/fp32/layer_epilogue.h"

namespace mq::kernels {

class DnnlConv {
 public:
  /// A convolution for `p` with its activations in NHWC (`nhwc`) or NCHW, weights
  /// [M, C/group, kH, kW] and bias [M] (may be null; both copied). Null when oneDNN cannot
  /// build it (the caller falls back to conv2d_f32).
  /// `threads`: the OpenMP threads it will run on (oneDNN sizes its work split and scratch
  /// for them; run() must use the same number).
  static std::unique_ptr<DnnlConv> create(const Conv2dParams& p, bool nhwc, const float* w, const float* bias,
                                          const LayerEpilogue& e, int threads);
  ~DnnlConv();

  /// y = epilogue(conv(x)); with a residual epilogue, `y` holds z on entry (it may be z's own
  /// buffer). Runs on the threads given to create(), OpenMP threads of the calling thread.
  /// False when oneDNN reports an error.
  bool run(const float* x, float* y) const;

 private:
  DnnlConv();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mq::kernels
