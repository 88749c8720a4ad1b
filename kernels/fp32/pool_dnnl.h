#pragma once
/// fp32 2-D max / average pooling on oneDNN, NCHW or NHWC, built once per geometry. run()
/// allocates no tensor and never throws.
#include <memory>

#include "kernels/fp32/pool.h"

namespace mq::kernels {

class DnnlPool {
 public:
  /// `p` as for max_pool / avg_pool_f32 with 2 spatial dims (in[1..2]) and `batch` × `channels`
  /// = p.nc. Null when oneDNN cannot build it (e.g. average pooling counting the pads of a
  /// ceil_mode window), the caller falls back.
  static std::unique_ptr<DnnlPool> create(const PoolParams& p, int64_t batch, int64_t channels, bool is_max,
                                          bool nhwc, int threads);
  ~DnnlPool();
  bool run(const float* x, float* y) const;

 private:
  DnnlPool();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mq::kernels
