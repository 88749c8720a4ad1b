// Inference for activations: the output has the input's type. Softmax/LogSoftmax follow
// opset 13 (one axis, default -1); Clip's min/max are optional scalar operands.
#include <algorithm>

#include "ir/ops/families.h"

namespace mq::ops {

namespace {

void require_f32(const InferContext& c) {
  c.require(0);
  if (c.dtype(0) != DType::f32)
    fail<UnsupportedError>("operand of type ", dtype_name(c.dtype(0)), " is not supported (f32 only)");
}

void require_numeric(const InferContext& c) {
  c.require(0);
  DType t = c.dtype(0);
  if (t != DType::f32 && t != DType::f64 && !is_integer(t))
    fail<UnsupportedError>("operand of type ", dtype_name(t), " is not supported");
}

void float_activation(InferContext& c) {
  require_f32(c);
  infer_same_as_input0(c);
}

void relu(InferContext& c) {
  require_numeric(c);
  infer_same_as_input0(c);
}

void clip(InferContext& c) {
  require_numeric(c);
  for (size_t i = 1; i < 3; ++i) {
    if (!c.has_input(i)) continue;
    if (c.dtype(i) != c.dtype(0))
      fail<ShapeError>(i == 1 ? "min" : "max", " is ", dtype_name(c.dtype(i)), " but the input is ",
                       dtype_name(c.dtype(0)));
    const Shape& s = c.shape(i);
    if (s.is_static() && s.numel() != 1)
      fail<ShapeError>(i == 1 ? "min" : "max", " must be a scalar, got shape ", s.str());
  }
  infer_same_as_input0(c);
}

void softmax(InferContext& c) {
  require_f32(c);
  const Shape& s = c.shape(0);
  if (s.has_rank()) normalize_axis(c.attrs().get_int_or("axis", -1), std::max<int64_t>(1, int64_t(s.rank())));
  infer_same_as_input0(c);
}

/// PRelu: the slope broadcasts onto X (unidirectionally); the output has X's shape.
void prelu(InferContext& c) {
  require_f32(c);
  c.require(1);
  if (c.dtype(1) != DType::f32) fail<ShapeError>("slope must be f32, got ", dtype_name(c.dtype(1)));
  Shape b = broadcast_shapes(c.shape(0), c.shape(1));
  const Shape& x = c.shape(0);
  if (b.has_rank() && x.has_rank() && (b.rank() != x.rank() || (x.is_static() && b.is_static() && b != x)))
    fail<ShapeError>("slope ", c.shape(1).str(), " does not broadcast onto the input ", x.str());
  infer_same_as_input0(c);
}

void gelu(InferContext& c) {
  std::string approx = c.attrs().get_string_or("approximate", "none");
  if (approx != "none" && approx != "tanh")
    fail<UnsupportedError>("approximate '", approx, "' is not supported (none, tanh)");
  float_activation(c);
}

}  // namespace

void register_activation() {
  for (OpKind op : {OpKind::LeakyRelu, OpKind::Sigmoid, OpKind::HardSigmoid, OpKind::HardSwish, OpKind::Tanh,
                    OpKind::Erf, OpKind::Elu, OpKind::Selu, OpKind::Softplus})
    set_infer_fn(op, float_activation);
  set_infer_fn(OpKind::Relu, relu);
  set_infer_fn(OpKind::Clip, clip);
  set_infer_fn(OpKind::Softmax, softmax);
  set_infer_fn(OpKind::LogSoftmax, softmax);
  set_infer_fn(OpKind::PRelu, prelu);
  set_infer_fn(OpKind::Gelu, gelu);
}

}  // namespace mq::ops
