// Inference for elementwise arithmetic, comparison and logic ops (numpy broadcasting).
#include "ir/ops/families.h"

namespace mq::ops {

namespace {

bool is_numeric(DType t) { return t == DType::f32 || t == DType::f64 || is_integer(t); }

/// Operands present must all have input 0's dtype (when known).
void require_same_dtype(const InferContext& c) {
  for (size_t i = 1; i < c.num_inputs(); ++i)
    if (c.has_input(i) && c.dtype(0) != DType::undefined && c.dtype(i) != c.dtype(0))
      fail<ShapeError>("operand ", i, " is ", dtype_name(c.dtype(i)), " but operand 0 is ",
                       dtype_name(c.dtype(0)));
}

void require_numeric(const InferContext& c, size_t i) {
  DType t = c.dtype(i);
  if (t != DType::undefined && !is_numeric(t))
    fail<UnsupportedError>("operand ", i, " of type ", dtype_name(t), " is not supported");
}

void require_bool(const InferContext& c, size_t i) {
  if (c.dtype(i) != DType::undefined && c.dtype(i) != DType::boolean)
    fail<ShapeError>("operand ", i, " must be bool, got ", dtype_name(c.dtype(i)));
}

void require_operands(const InferContext& c, size_t min) {
  if (c.num_inputs() < min) fail<ShapeError>("needs at least ", min, " operand(s), got ", c.num_inputs());
  for (size_t i = 0; i < c.num_inputs(); ++i) c.require(i);
}

void arith(InferContext& c) {
  require_operands(c, 2);
  require_same_dtype(c);
  require_numeric(c, 0);
  infer_broadcast(c);
}
void variadic(InferContext& c) {
  require_operands(c, 1);
  require_same_dtype(c);
  require_numeric(c, 0);
  infer_broadcast(c);
}
void pow(InferContext& c) {
  require_operands(c, 2);
  require_numeric(c, 0);
  require_numeric(c, 1);
  infer_broadcast(c);
}
void compare(InferContext& c) {
  require_operands(c, 2);
  require_same_dtype(c);
  if (c.dtype(0) != DType::boolean) require_numeric(c, 0);
  infer_broadcast(c, true);
}
void logic(InferContext& c) {
  require_operands(c, 2);
  require_bool(c, 0);
  require_bool(c, 1);
  infer_broadcast(c, true);
}
/// FusedElementwise: f32, u8, i8 or bool (read as u8) operands; the broadcast of all of them,
/// as f32 or as the "output_type" u8 / s8.
void fused_elementwise(InferContext& c) {
  require_operands(c, 1);
  for (size_t i = 0; i < c.num_inputs(); ++i)
    if (c.dtype(i) != DType::f32 && c.dtype(i) != DType::u8 && c.dtype(i) != DType::i8 &&
        c.dtype(i) != DType::boolean)
      fail<ShapeError>("operand ", i, " must be f32, u8, i8 or bool, got ", dtype_name(c.dtype(i)));
  const std::string type = c.attrs().get_string_or("output_type", "f32");
  if (type != "f32" && type != "u8" && type != "s8")
    fail<ShapeError>("attribute 'output_type' '", type, "' is not f32, u8 or s8");
  Shape s = c.shape(0);
  for (size_t i = 1; i < c.num_inputs(); ++i) s = broadcast_shapes(s, c.shape(i));
  c.set(0, type == "f32" ? DType::f32 : type == "u8" ? DType::u8 : DType::i8, std::move(s));
}
void logical_not(InferContext& c) {
  require_operands(c, 1);
  require_bool(c, 0);
  infer_same_as_input0(c);
}
/// Unary math defined on every numeric type (Neg, Abs, Sign, Reciprocal, Floor, Ceil, Round).
void unary_numeric(InferContext& c) {
  require_operands(c, 1);
  require_numeric(c, 0);
  infer_same_as_input0(c);
}
/// Unary math defined on floats only.
void unary_float(InferContext& c) {
  require_operands(c, 1);
  DType t = c.dtype(0);
  if (t != DType::undefined && t != DType::f32 && t != DType::f64)
    fail<UnsupportedError>("operand of type ", dtype_name(t), " is not supported (f32, f64 only)");
  infer_same_as_input0(c);
}
void identity(InferContext& c) {
  require_operands(c, 1);
  infer_same_as_input0(c);
}
void where(InferContext& c) {
  require_operands(c, 3);
  require_bool(c, 0);
  if (c.dtype(1) != DType::undefined && c.dtype(2) != DType::undefined && c.dtype(1) != c.dtype(2))
    fail<ShapeError>("operands 1 and 2 must have one dtype, got ", dtype_name(c.dtype(1)), " and ",
                     dtype_name(c.dtype(2)));
  if (c.dtype(1) != DType::boolean) require_numeric(c, 1);
  Shape s = broadcast_shapes(broadcast_shapes(c.shape(0), c.shape(1)), c.shape(2));
  c.set(0, c.dtype(1), std::move(s));
}
/// Cast's `to` holds an IR DType (the importer converts ONNX's enum).
void cast(InferContext& c) {
  require_operands(c, 1);
  int64_t to = c.attrs().get_int("to");
  if (to <= int64_t(DType::undefined) || to > int64_t(DType::boolean))
    fail<InvalidArgument>("attribute 'to' holds ", to, ", which is not a dtype");
  DType t = DType(to), from = c.dtype(0);
  auto castable = [](DType d) { return d == DType::boolean || is_numeric(d); };
  // f16 / bf16 are read (converted to any type) but not produced
  if (!castable(t) || !(castable(from) || from == DType::f16 || from == DType::bf16))
    fail<UnsupportedError>("Cast from ", dtype_name(from), " to ", dtype_name(t), " is not supported");
  c.set(0, t, c.shape(0));
}

}  // namespace

void register_elementwise() {
  for (OpKind op : {OpKind::Add, OpKind::Sub, OpKind::Mul, OpKind::Div}) set_infer_fn(op, arith);
  for (OpKind op : {OpKind::Max, OpKind::Min, OpKind::Sum, OpKind::Mean}) set_infer_fn(op, variadic);
  set_infer_fn(OpKind::Pow, pow);
  for (OpKind op :
       {OpKind::Neg, OpKind::Abs, OpKind::Sign, OpKind::Reciprocal, OpKind::Floor, OpKind::Ceil, OpKind::Round})
    set_infer_fn(op, unary_numeric);
  for (OpKind op : {OpKind::Sqrt, OpKind::Exp, OpKind::Log, OpKind::Sin, OpKind::Cos})
    set_infer_fn(op, unary_float);
  for (OpKind op : {OpKind::Equal, OpKind::Less, OpKind::Greater, OpKind::LessOrEqual, OpKind::GreaterOrEqual})
    set_infer_fn(op, compare);
  for (OpKind op : {OpKind::And, OpKind::Or, OpKind::Xor}) set_infer_fn(op, logic);
  set_infer_fn(OpKind::Not, logical_not);
  set_infer_fn(OpKind::Identity, identity);
  set_infer_fn(OpKind::Where, where);
  set_infer_fn(OpKind::Cast, cast);
  set_infer_fn(OpKind::FusedElementwise, fused_elementwise);
}

}  // namespace mq::ops
