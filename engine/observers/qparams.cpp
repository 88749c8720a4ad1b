#include "engine/observers/qparams.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>

#include "ir/error.h"

namespace mq {
namespace {

void check_qtype(DType t) {
  if (t != DType::u8 && t != DType::i8)
    fail<InvalidArgument>("quantization type must be u8 or i8, got ", dtype_name(t));
}

/// Rounds half to even under the default floating-point environment.
template <class F>
F round_half_even(F v) {
  return std::nearbyint(v);
}

std::pair<float, int32_t> pytorch_qparams(float min_val, float max_val, const QuantScheme& s) {
  const QRange r = quant_range(s);
  const float min_neg = std::min(min_val, 0.0f);
  const float max_pos = std::max(max_val, 0.0f);
  if (s.symmetric) {
    const float absmax = std::max(-min_neg, max_pos);
    const float half_levels = float(double(r.qmax - r.qmin) / 2.0);
    const float scale = std::max(absmax / half_levels, kScaleEps);
    return {scale, s.qtype == DType::u8 ? 128 : 0};
  }
  const float scale = std::max((max_pos - min_neg) / float(r.qmax - r.qmin), kScaleEps);
  const int32_t zp = r.qmin - int32_t(round_half_even(min_neg / scale));
  return {scale, std::clamp(zp, r.qmin, r.qmax)};
}

std::pair<float, int32_t> ort_qparams(float min_val, float max_val, const QuantScheme& s) {
  const QRange r = quant_range(s);
  float rmin = std::min(min_val, 0.0f);
  float rmax = std::max(max_val, 0.0f);
  if (s.symmetric) {
    const float absmax = std::max(std::fabs(rmin), std::fabs(rmax));
    rmin = -absmax;
    rmax = absmax;
  }
  const double dr = double(rmax - rmin);  // difference taken in float, as numpy float32 does
  const double scale = dr / (double(r.qmax) - double(r.qmin));
  if (scale < double(FLT_MIN)) return {1.0f, 0};
  double zp = s.symmetric ? round_half_even((double(r.qmin) + double(r.qmax)) / 2.0)
                          : round_half_even(double(r.qmin) - double(rmin) / scale);
  zp = std::clamp(zp, double(r.qmin), double(r.qmax));
  return {float(scale), int32_t(zp)};
}

void check_range(float min_val, float max_val) {
  if (!std::isfinite(min_val) || !std::isfinite(max_val))
    fail<InvalidArgument>("quantization range [", min_val, ", ", max_val, "] is not finite");
  if (min_val > max_val) fail<InvalidArgument>("quantization range has min ", min_val, " > max ", max_val);
}

/// Splits dims around `axis` into (outer, channels, inner) element counts.
struct Layout {
  int64_t outer = 1, channels = 1, inner = 1;
};

Layout layout_of(const std::vector<int64_t>& dims, const QuantParams& qp) {
  Layout l;
  if (!qp.axis) {
    for (int64_t d : dims) l.inner *= d;
    return l;
  }
  int64_t axis = *qp.axis;
  const int64_t rank = int64_t(dims.size());
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank)
    fail<InvalidArgument>("quantization axis ", *qp.axis, " out of range for rank ", rank);
  for (int64_t i = 0; i < axis; ++i) l.outer *= dims[size_t(i)];
  l.channels = dims[size_t(axis)];
  for (int64_t i = axis + 1; i < rank; ++i) l.inner *= dims[size_t(i)];
  return l;
}

void check_params(const QuantParams& qp, int64_t channels) {
  check_qtype(qp.qtype);
  const size_t want = qp.axis ? size_t(channels) : 1;
  if (qp.scales.size() != want || qp.zero_points.size() != want)
    fail<InvalidArgument>("quant params have ", qp.scales.size(), " scales and ", qp.zero_points.size(),
                          " zero points, expected ", want);
  for (float s : qp.scales)
    if (!(s > 0.0f) || !std::isfinite(s)) fail<InvalidArgument>("quantization scale ", s, " is not positive");
}

}  // namespace

QRange quant_range(const QuantScheme& s) {
  check_qtype(s.qtype);
  if (s.convention == QuantConvention::pytorch) {
    if (s.qtype == DType::u8) {
      if (s.symmetric && s.reduce_range)
        fail<InvalidArgument>("symmetric u8 quantization cannot use reduce_range (as in PyTorch)");
      return s.reduce_range ? QRange{0, 127} : QRange{0, 255};
    }
    return s.reduce_range ? QRange{-64, 63} : QRange{-128, 127};
  }
  if (s.qtype == DType::u8) return s.reduce_range ? QRange{0, 127} : QRange{0, 255};
  if (s.reduce_range) return {-64, 64};
  return s.symmetric ? QRange{-127, 127} : QRange{-128, 127};
}

std::pair<float, int32_t> compute_scale_zero_point(float min_val, float max_val, const QuantScheme& scheme) {
  check_range(min_val, max_val);
  return scheme.convention == QuantConvention::pytorch ? pytorch_qparams(min_val, max_val, scheme)
                                                       : ort_qparams(min_val, max_val, scheme);
}

QuantParams compute_qparams(float min_val, float max_val, const QuantScheme& scheme) {
  auto [scale, zp] = compute_scale_zero_point(min_val, max_val, scheme);
  QuantParams qp;
  qp.scales = {scale};
  qp.zero_points = {zp};
  qp.qtype = scheme.qtype;
  return qp;
}

QuantParams compute_qparams(std::span<const float> min_vals, std::span<const float> max_vals,
                            std::optional<int64_t> axis, const QuantScheme& scheme) {
  if (min_vals.size() != max_vals.size())
    fail<InvalidArgument>("range has ", min_vals.size(), " minima but ", max_vals.size(), " maxima");
  if (min_vals.empty()) fail<InvalidArgument>("cannot compute quant params from an empty range");
  if (!axis && min_vals.size() != 1)
    fail<InvalidArgument>("per-tensor quant params need one range, got ", min_vals.size());
  QuantParams qp;
  qp.axis = axis;
  qp.qtype = scheme.qtype;
  qp.scales.reserve(min_vals.size());
  qp.zero_points.reserve(min_vals.size());
  for (size_t c = 0; c < min_vals.size(); ++c) {
    auto [scale, zp] = with_context(axis ? "channel " + std::to_string(c) : std::string("tensor"),
                                    [&] { return compute_scale_zero_point(min_vals[c], max_vals[c], scheme); });
    qp.scales.push_back(scale);
    qp.zero_points.push_back(zp);
  }
  return qp;
}

int32_t quantize_value(float x, float scale, int32_t zero_point, DType qtype) {
  const float lo = qtype == DType::u8 ? 0.0f : -128.0f;
  const float hi = qtype == DType::u8 ? 255.0f : 127.0f;
  float v = round_half_even(x / scale) + float(zero_point);
  if (std::isnan(v)) v = float(zero_point);  // NaN has no integer image; map it to real 0
  return int32_t(std::clamp(v, lo, hi));
}

Tensor quantize_tensor(const Tensor& x, const QuantParams& qp) {
  if (x.dtype() != DType::f32)
    fail<InvalidArgument>("quantize_tensor needs an f32 tensor, got ", dtype_name(x.dtype()));
  const Layout l = layout_of(x.dims(), qp);
  check_params(qp, l.channels);
  Tensor q(qp.qtype, x.dims());
  const float* src = x.data<float>();
  auto run = [&](auto* dst) {
    size_t i = 0;
    for (int64_t o = 0; o < l.outer; ++o)
      for (int64_t c = 0; c < l.channels; ++c) {
        const float s = qp.scales[qp.axis ? size_t(c) : 0];
        const int32_t zp = qp.zero_points[qp.axis ? size_t(c) : 0];
        for (int64_t k = 0; k < l.inner; ++k, ++i)
          dst[i] = static_cast<std::remove_pointer_t<decltype(dst)>>(quantize_value(src[i], s, zp, qp.qtype));
      }
  };
  if (qp.qtype == DType::u8) run(q.data<uint8_t>());
  else run(q.data<int8_t>());
  q.set_quant(qp);
  return q;
}

Tensor dequantize_tensor(const Tensor& q) {
  if (!q.quant()) fail<InvalidArgument>("dequantize_tensor: tensor has no quant params");
  const QuantParams& qp = *q.quant();
  if (q.dtype() != qp.qtype)
    fail<InvalidArgument>("dequantize_tensor: tensor is ", dtype_name(q.dtype()), " but its quant params say ",
                          dtype_name(qp.qtype));
  const Layout l = layout_of(q.dims(), qp);
  check_params(qp, l.channels);
  Tensor out(DType::f32, q.dims());
  float* dst = out.data<float>();
  auto run = [&](const auto* src) {
    size_t i = 0;
    for (int64_t o = 0; o < l.outer; ++o)
      for (int64_t c = 0; c < l.channels; ++c) {
        const float s = qp.scales[qp.axis ? size_t(c) : 0];
        const int32_t zp = qp.zero_points[qp.axis ? size_t(c) : 0];
        for (int64_t k = 0; k < l.inner; ++k, ++i) dst[i] = s * float(int32_t(src[i]) - zp);
      }
  };
  if (qp.qtype == DType::u8) run(q.data<uint8_t>());
  else run(q.data<int8_t>());
  return out;
}

Tensor fake_quantize(const Tensor& x, const QuantParams& qp) { return dequantize_tensor(quantize_tensor(x, qp)); }

}  // namespace mq
