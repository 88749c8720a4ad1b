// Builders for elementwise arithmetic, comparison and logic ops, Where, Cast and Identity.
#include "importers/onnx/builder.h"
#include "importers/onnx/tensor_proto.h"

namespace mq::onnx {

namespace {

/// Cast: ONNX's `to` (a TensorProto data type) becomes the IR DType.
void build_cast(BuildContext& c) {
  int64_t onnx_to = c.attrs().get_int("to");
  DType to = dtype_from_onnx(int32_t(onnx_to));
  if (to == DType::undefined) fail<UnsupportedError>("Cast to ONNX data type ", onnx_to, " is not supported");
  Attributes a = c.attrs();
  a.set("to", int64_t(to));
  a.erase("saturate");  // only meaningful for float8 targets, which are rejected above
  c.emit(OpKind::Cast, c.inputs(), std::move(a));
}

/// Opset < 7 binary ops (Add, Sub, Mul, Div, Pow, comparisons, logic) with the legacy
/// `broadcast` / `axis` attributes: B's dims match a contiguous run of A's dims starting at
/// `axis` (default: A's trailing dims). B gets trailing 1-dims so that numpy broadcasting
/// does the same; without `broadcast` the shapes are equal and numpy agrees.
void build_legacy_binary(BuildContext& c, OpKind op) {
  if (c.opset >= 7) return build_same(c, op);
  Attributes a = c.attrs();
  a.erase("broadcast");
  a.erase("axis");
  Value* x = c.required(0);
  Value* y = c.required(1);
  if (c.attrs().get_int_or("broadcast", 0) == 0 || !c.attrs().has("axis")) {
    c.emit(op, {x, y}, std::move(a));
    return;
  }
  if (!x->shape().has_rank() || !y->shape().has_rank())
    fail<UnsupportedError>("legacy broadcast with 'axis' (opset ", c.opset, ") needs operands of known rank");
  const int64_t ra = int64_t(x->shape().rank()), rb = int64_t(y->shape().rank());
  int64_t axis = c.attrs().get_int("axis");
  if (axis < 0) axis += ra;
  if (axis < 0 || axis + rb > ra)
    fail<ShapeError>("legacy broadcast axis ", c.attrs().get_int("axis"), " does not fit B (rank ", rb,
                     ") into A (rank ", ra, ")");
  const int64_t extra = ra - axis - rb;
  if (extra > 0) {
    if (y->is_constant()) {
      std::vector<int64_t> dims = y->constant()->dims();
      dims.resize(size_t(rb + extra), 1);
      y = c.constant("legacy_broadcast", y->constant()->reshaped(dims));
    } else {
      std::vector<int64_t> axes;
      for (int64_t i = 0; i < extra; ++i) axes.push_back(rb + i);
      Value* ax = c.constant("axes", Tensor::from_vector<int64_t>({extra}, axes));
      y = c.emit_internal(OpKind::Unsqueeze, {y, ax}, {})->output(0);
    }
  }
  c.emit(op, {x, y}, std::move(a));
}

}  // namespace

#define MQ_SAME(op) register_builder(#op, [](BuildContext& c) { build_same(c, OpKind::op); })

void register_elementwise_builders() {
#define MQ_LEGACY(op) register_builder(#op, [](BuildContext& c) { build_legacy_binary(c, OpKind::op); })
  MQ_LEGACY(Add);
  MQ_LEGACY(Sub);
  MQ_LEGACY(Mul);
  MQ_LEGACY(Div);
  MQ_LEGACY(Pow);
  MQ_LEGACY(Equal);
  MQ_LEGACY(Less);
  MQ_LEGACY(Greater);
  MQ_LEGACY(And);
  MQ_LEGACY(Or);
  MQ_LEGACY(Xor);
#undef MQ_LEGACY
  MQ_SAME(Sqrt);
  MQ_SAME(Exp);
  MQ_SAME(Log);
  MQ_SAME(Max);
  MQ_SAME(Min);
  MQ_SAME(Sum);
  MQ_SAME(Mean);
  MQ_SAME(Neg);
  MQ_SAME(Abs);
  MQ_SAME(Reciprocal);
  MQ_SAME(Floor);
  MQ_SAME(Ceil);
  MQ_SAME(Round);
  MQ_SAME(Sign);
  MQ_SAME(Sin);
  MQ_SAME(Cos);
  MQ_SAME(LessOrEqual);
  MQ_SAME(GreaterOrEqual);
  MQ_SAME(Not);
  MQ_SAME(Where);
  MQ_SAME(Identity);
  register_builder("Cast", build_cast);
}

}  // namespace mq::onnx
