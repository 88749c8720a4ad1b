// Builders for elementwise arithmetic, comparison and logic ops.
#include "importers/onnx/builder.h"

namespace mq::onnx {

#define MQ_SAME(op) register_builder(#op, [](BuildContext& c) { build_same(c, OpKind::op); })

void register_elementwise_builders() {
  MQ_SAME(Add); MQ_SAME(Sub); MQ_SAME(Mul); MQ_SAME(Div); MQ_SAME(Pow);
  MQ_SAME(Sqrt); MQ_SAME(Exp); MQ_SAME(Log); MQ_SAME(Max); MQ_SAME(Min); MQ_SAME(Sum);
  MQ_SAME(Mean); MQ_SAME(Neg); MQ_SAME(Abs); MQ_SAME(Reciprocal); MQ_SAME(Floor);
  MQ_SAME(Ceil); MQ_SAME(Round); MQ_SAME(Sign); MQ_SAME(Sin); MQ_SAME(Cos);
  MQ_SAME(Equal); MQ_SAME(Less); MQ_SAME(Greater); MQ_SAME(LessOrEqual);
  MQ_SAME(GreaterOrEqual); MQ_SAME(Not); MQ_SAME(And); MQ_SAME(Or); MQ_SAME(Xor);
  MQ_SAME(Where); MQ_SAME(Identity);
}

}  // namespace mq::onnx
