// Executors for the quantization ops: QuantizeLinear, DequantizeLinear,
// DynamicQuantizeLinear; they register ONNX's integer ops (engine/ops/integer_matmul.cpp,
// integer_conv.cpp) and monoquant's quantized layers (engine/ops/qlayers.cpp).
#include <algorithm>
#include <cmath>

#include "engine/executor.h"
#include "engine/ops/integer_operands.h"
#include "engine/ops/parallel.h"
#include "engine/ops/qlayers.h"
#include "kernels/quant.h"

namespace mq::ops {

namespace {

using kernels::QuantAffine;

/// Calls fn(offset, count, scale, zero_point) for each contiguous run sharing parameters.
template <class Fn>
void for_each_channel_run(const ExecContext& c, const Tensor& x, size_t scale_i, size_t zp_i, Fn fn) {
  const Tensor& s = c.in(scale_i);
  auto scales = s.to_float();
  std::vector<int64_t> zps = c.has(zp_i) ? c.in(zp_i).to_int64() : std::vector<int64_t>(scales.size(), 0);
  if (zps.size() != scales.size()) fail<ShapeError>(c.node.describe(), ": scale and zero point sizes differ");
  for (float sc : scales)
    if (!(sc > 0.f) || !std::isfinite(sc))
      fail<InvalidArgument>(c.node.describe(), ": scale must be positive and finite");
  int64_t n = x.numel();
  if (scales.size() == 1 && s.rank() <= 1) {
    fn(0, n, scales[0], int32_t(zps[0]));
    return;
  }
  int64_t axis = normalize_axis(c.attrs().get_int_or("axis", 1), int64_t(x.rank()));
  int64_t ch = x.dim(size_t(axis));
  if (int64_t(scales.size()) != ch)
    fail<ShapeError>(c.node.describe(), ": ", scales.size(), " scales for ", ch, " channels on axis ", axis);
  int64_t inner = 1, outer = 1;
  for (size_t i = size_t(axis) + 1; i < x.rank(); ++i) inner *= x.dim(i);
  for (int64_t i = 0; i < axis; ++i) outer *= x.dim(size_t(i));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < ch; ++k) fn((o * ch + k) * inner, inner, scales[k], int32_t(zps[k]));
}

void quantize_linear(ExecContext& c) {
  const Tensor& x = c.in(0);
  std::vector<float> xf;
  if (x.dtype() == DType::i32) xf = x.to_float();
  else if (x.dtype() != DType::f32) fail<UnsupportedError>(c.node.describe(), ": input must be f32 or int32");
  Tensor& y = c.out(0);
  const auto& k = kernels::quant_active();
  const float* px = x.dtype() == DType::f32 ? x.data<float>() : xf.data();
  for_each_channel_run(c, x, 1, 2, [&](int64_t off, int64_t n, float s, int32_t zp) {
    // a large run (per-tensor scale) is split over the session's threads; each element is
    // quantized by the same code whatever the split
    parallel_elements(c, n, [&](int64_t b, int64_t e) {
      if (y.dtype() == DType::u8) k.quantize_u8(px + off + b, size_t(e - b), {s, zp}, y.data<uint8_t>() + off + b);
      else k.quantize_s8(px + off + b, size_t(e - b), {s, zp}, y.data<int8_t>() + off + b);
    });
  });
}

void dequantize_linear(ExecContext& c) {
  const Tensor& x = c.in(0);
  float* py = c.out(0).data<float>();
  const auto& k = kernels::quant_active();
  for_each_channel_run(c, x, 1, 2, [&](int64_t off, int64_t n, float s, int32_t zp) {
    switch (x.dtype()) {
      case DType::u8:
        parallel_elements(c, n, [&](int64_t b, int64_t e) {
          k.dequantize_u8(x.data<uint8_t>() + off + b, size_t(e - b), {s, zp}, py + off + b);
        });
        break;
      case DType::i8:
        parallel_elements(c, n, [&](int64_t b, int64_t e) {
          k.dequantize_s8(x.data<int8_t>() + off + b, size_t(e - b), {s, zp}, py + off + b);
        });
        break;
      case DType::i32: {  // int32 products (MatMulInteger, ConvInteger) back to float
        const int32_t* px = x.data<int32_t>() + off;
        parallel_elements(c, n, [&](int64_t b, int64_t e) {
          float* out = py + off;
          if (zp == 0) {
            for (int64_t i = b; i < e; ++i) out[i] = float(px[i]) * s;
          } else {
            for (int64_t i = b; i < e; ++i) out[i] = float(int64_t(px[i]) - zp) * s;
          }
        });
        break;
      }
      default: fail<UnsupportedError>(c.node.describe(), ": input type ", dtype_name(x.dtype()));
    }
  });
}

void dynamic_quantize_linear(ExecContext& c) {
  const Tensor& x = c.in(0);
  const auto& k = kernels::quant_active();
  float lo = 0.f, hi = 0.f;
  size_t n = size_t(x.numel());
  if (n) k.minmax_f32(x.data<float>(), n, &lo, &hi);
  lo = std::min(lo, 0.f);
  hi = std::max(hi, 0.f);
  // ONNX's definition: scale = (max − min) / 255, zero point = saturate(round(−min / scale)).
  float scale = (hi - lo) / 255.f;
  int32_t zp = 0;
  if (scale == 0.f) {
    scale = 0.f;
  } else {
    zp = int32_t(std::nearbyint(std::clamp(-lo / scale, 0.f, 255.f)));
  }
  uint8_t* y = c.out(0).data<uint8_t>();
  if (scale == 0.f) {
    std::fill(y, y + n, uint8_t(0));
  } else {
    k.quantize_u8(x.data<float>(), n, {scale, zp}, y);
  }
  c.out(1).data<float>()[0] = scale;
  c.out(2).data<uint8_t>()[0] = uint8_t(zp);
}

}  // namespace

void register_quantized_exec() {
  set_executor(OpKind::QuantizeLinear, {quantize_linear, nullptr});
  set_executor(OpKind::DequantizeLinear, {dequantize_linear, nullptr});
  set_executor(OpKind::DynamicQuantizeLinear, {dynamic_quantize_linear, nullptr});
  register_integer_matmul_exec();
  register_integer_conv_exec();
  register_qlayer_exec();
}

}  // namespace mq::ops
