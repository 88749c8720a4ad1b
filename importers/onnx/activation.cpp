// Builders for activations. Canonicalization: Clip before opset 11 (min/max attributes →
// constant operands); Softmax/LogSoftmax before opset 13 (the input coerced to 2-D at
// `axis`, default 1) → opset-13 Softmax when the coerced axis is the last one, else lowered
// to ReduceMax/Sub/Exp/ReduceSum/Div (or Log/Sub) over the trailing dims.
#include <algorithm>
#include <limits>

#include "importers/onnx/builder.h"

namespace mq::onnx {

namespace {

void build_clip(BuildContext& c) {
  if (c.opset >= 11) return build_same(c, OpKind::Clip);
  Value* x = c.required(0);
  auto bound = [&](const char* name, float def) -> Value* {
    if (!c.attrs().has(name)) return nullptr;
    float v = c.attrs().get_float_or(name, def);
    if (x->dtype() == DType::f64) return c.constant(name, Tensor::scalar<double>(v));
    if (x->dtype() != DType::f32)
      fail<UnsupportedError>("Clip (opset ", c.opset, ") of ", dtype_name(x->dtype()), " is not supported");
    return c.constant(name, Tensor::scalar<float>(v));
  };
  Value* lo = bound("min", std::numeric_limits<float>::lowest());
  Value* hi = bound("max", std::numeric_limits<float>::max());
  c.emit(OpKind::Clip, {x, lo, hi}, {});
}

void build_softmax(BuildContext& c, OpKind op) {
  Value* x = c.required(0);
  if (c.opset >= 13) return c.emit(op, {x}, c.attrs()), void();
  const Shape& s = x->shape();
  if (!s.has_rank()) fail<UnsupportedError>(op_name(op), " (opset ", c.opset, ") needs an input of known rank");
  int64_t r = int64_t(s.rank());
  int64_t axis = normalize_axis(c.attrs().get_int_or("axis", 1), std::max<int64_t>(r, 1));
  if (axis >= r - 1) {
    Attributes a;
    a.set("axis", int64_t(-1));
    c.emit(op, {x}, std::move(a));
    return;
  }
  // Coerced to 2-D: normalize over every dim from `axis` on.
  std::vector<int64_t> axes;
  for (int64_t d = axis; d < r; ++d) axes.push_back(d);
  Value* ax = c.constant("axes", Tensor::from_vector<int64_t>({int64_t(axes.size())}, axes));
  Attributes keep;
  keep.set("keepdims", int64_t(1));
  Value* m = c.emit_internal(OpKind::ReduceMax, {x, ax}, keep)->output(0);
  Value* shifted = c.emit_internal(OpKind::Sub, {x, m}, {})->output(0);
  Value* e = c.emit_internal(OpKind::Exp, {shifted}, {})->output(0);
  Value* sum = c.emit_internal(OpKind::ReduceSum, {e, ax}, keep)->output(0);
  if (op == OpKind::Softmax) {
    c.emit(OpKind::Div, {e, sum}, {});
  } else {
    Value* ls = c.emit_internal(OpKind::Log, {sum}, {})->output(0);
    c.emit(OpKind::Sub, {shifted, ls}, {});
  }
}

/// PRelu before opset 7: a 1-D slope of C > 1 values is per channel (axis 1), so it gets
/// trailing 1-dims for numpy broadcasting; other slopes (1 value, X's shape) agree with numpy.
void build_prelu(BuildContext& c) {
  if (c.opset >= 7) return build_same(c, OpKind::PRelu);
  Value* x = c.required(0);
  Value* slope = c.required(1);
  const Shape& ss = slope->shape();
  const bool per_channel = ss.has_rank() && ss.rank() == 1 && !(ss[0].is_static() && ss[0].value == 1);
  if (per_channel) {
    if (!x->shape().has_rank()) fail<UnsupportedError>("PRelu (opset ", c.opset, ") needs an input of known rank");
    const int64_t extra = int64_t(x->shape().rank()) - 2;
    if (extra > 0) {
      std::vector<int64_t> axes;
      for (int64_t i = 0; i < extra; ++i) axes.push_back(1 + i);
      if (slope->is_constant()) {
        std::vector<int64_t> dims = slope->constant()->dims();
        dims.resize(size_t(1 + extra), 1);
        slope = c.constant("slope", slope->constant()->reshaped(dims));
      } else {
        Value* ax = c.constant("axes", Tensor::from_vector<int64_t>({extra}, axes));
        slope = c.emit_internal(OpKind::Unsqueeze, {slope, ax}, {})->output(0);
      }
    }
  }
  c.emit(OpKind::PRelu, {x, slope}, c.attrs());
}

}  // namespace

#define MQ_SAME(op) register_builder(#op, [](BuildContext& c) { build_same(c, OpKind::op); })

void register_activation_builders() {
  MQ_SAME(Relu);
  MQ_SAME(LeakyRelu);
  MQ_SAME(Sigmoid);
  MQ_SAME(HardSigmoid);
  MQ_SAME(HardSwish);
  MQ_SAME(Tanh);
  MQ_SAME(Erf);
  MQ_SAME(Elu);
  MQ_SAME(Selu);
  MQ_SAME(Gelu);
  MQ_SAME(Softplus);
  register_builder("PRelu", build_prelu);
  register_builder("Clip", build_clip);
  register_builder("Softmax", [](BuildContext& c) { build_softmax(c, OpKind::Softmax); });
  register_builder("LogSoftmax", [](BuildContext& c) { build_softmax(c, OpKind::LogSoftmax); });
}

}  // namespace mq::onnx
