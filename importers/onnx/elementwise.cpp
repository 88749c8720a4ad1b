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

}  // namespace

#define MQ_SAME(op) register_builder(#op, [](BuildContext& c) { build_same(c, OpKind::op); })

void register_elementwise_builders() {
  MQ_SAME(Add); MQ_SAME(Sub); MQ_SAME(Mul); MQ_SAME(Div); MQ_SAME(Pow);
  MQ_SAME(Sqrt); MQ_SAME(Exp); MQ_SAME(Log); MQ_SAME(Max); MQ_SAME(Min); MQ_SAME(Sum);
  MQ_SAME(Mean); MQ_SAME(Neg); MQ_SAME(Abs); MQ_SAME(Reciprocal); MQ_SAME(Floor);
  MQ_SAME(Ceil); MQ_SAME(Round); MQ_SAME(Sign); MQ_SAME(Sin); MQ_SAME(Cos);
  MQ_SAME(Equal); MQ_SAME(Less); MQ_SAME(Greater); MQ_SAME(LessOrEqual);
  MQ_SAME(GreaterOrEqual); MQ_SAME(Not); MQ_SAME(And); MQ_SAME(Or); MQ_SAME(Xor);
  MQ_SAME(Where); MQ_SAME(Identity);
  register_builder("Cast", build_cast);
}

}  // namespace mq::onnx
