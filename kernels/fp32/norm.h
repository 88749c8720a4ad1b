#pragma once
/// fp32 normalizations: batch (inference form), instance and layer normalization.
#include <cstdint>

namespace mq::kernels {

/// y = (x - mean[c]) / sqrt(var[c] + eps) · scale[c] + bias[c] over x[n, c, spatial].
void batch_norm_f32(const float* x, const float* scale, const float* bias, const float* mean, const float* var,
                    float eps, float* y, int64_t n, int64_t c, int64_t spatial);
/// Normalizes each x[n, c, :] over its `spatial` elements, then · scale[c] + bias[c].
void instance_norm_f32(const float* x, const float* scale, const float* bias, float eps, float* y, int64_t n,
                       int64_t c, int64_t spatial);
/// Normalizes each of `rows` rows of `cols` elements, then · scale[j] + bias[j] (bias may be
/// null); mean and inv_std (may be null) receive one value per row.
void layer_norm_f32(const float* x, const float* scale, const float* bias, float eps, float* y, float* mean,
                    float* inv_std, int64_t rows, int64_t cols);

}  // namespace mq::kernels
