// Inference for elementwise arithmetic, comparison and logic ops (numpy broadcasting).
#include "ir/ops/families.h"

namespace mq::ops {

namespace {
void broadcast(InferContext& c) { infer_broadcast(c); }
void compare(InferContext& c) { infer_broadcast(c, true); }
void where(InferContext& c) {
  Shape s = broadcast_shapes(broadcast_shapes(c.shape(0), c.shape(1)), c.shape(2));
  c.set(0, c.dtype(1), std::move(s));
}
void cast(InferContext& c) {
  c.set(0, DType(c.attrs().get_int("to")), c.shape(0));
}
}  // namespace

void register_elementwise() {
  for (OpKind op : {OpKind::Add, OpKind::Sub, OpKind::Mul, OpKind::Div, OpKind::Pow, OpKind::Max,
                    OpKind::Min, OpKind::Sum, OpKind::Mean})
    set_infer_fn(op, broadcast);
  for (OpKind op : {OpKind::Sqrt, OpKind::Exp, OpKind::Log, OpKind::Neg, OpKind::Abs,
                    OpKind::Reciprocal, OpKind::Floor, OpKind::Ceil, OpKind::Round, OpKind::Sign,
                    OpKind::Sin, OpKind::Cos, OpKind::Not, OpKind::Identity})
    set_infer_fn(op, infer_same_as_input0);
  for (OpKind op : {OpKind::Equal, OpKind::Less, OpKind::Greater, OpKind::LessOrEqual,
                    OpKind::GreaterOrEqual, OpKind::And, OpKind::Or, OpKind::Xor})
    set_infer_fn(op, compare);
  set_infer_fn(OpKind::Where, where);
  set_infer_fn(OpKind::Cast, cast);
}

}  // namespace mq::ops
