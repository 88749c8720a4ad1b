// Inference for reductions (opset 18 form: axes as an optional int64 operand; attributes
// keepdims = 1, noop_with_empty_axes = 0) and ArgMax/ArgMin (attributes axis, keepdims,
// select_last_index; output i64).
#include <algorithm>

#include "ir/ops/families.h"

namespace mq::ops {

namespace {

void require_supported(const InferContext& c) {
  c.require(0);
  DType t = c.dtype(0);
  if (t != DType::f32 && t != DType::f64 && t != DType::i8 && t != DType::u8 && t != DType::i32 && t != DType::i64)
    fail<UnsupportedError>("input of type ", dtype_name(t), " is not supported");
}

void reduce(InferContext& c) {
  require_supported(c);
  const Shape& x = c.shape(0);
  const bool keep = c.attrs().get_int_or("keepdims", 1) != 0;
  const bool noop = c.attrs().get_int_or("noop_with_empty_axes", 0) != 0;
  if (c.has_input(1)) {
    if (!is_integer(c.dtype(1))) fail<ShapeError>("axes must be an integer tensor, got ", dtype_name(c.dtype(1)));
    const Shape& as = c.shape(1);
    if (as.has_rank() && as.rank() > 1) fail<ShapeError>("axes must be 1-D, got shape ", as.str());
  }
  std::optional<std::vector<int64_t>> axes;
  if (!c.has_input(1)) axes = std::vector<int64_t>{};
  else axes = const_ints(c, 1);
  if (!axes) {  // axes known only at run time
    if (keep && x.has_rank()) return c.set(0, c.dtype(0), Shape(std::vector<Dim>(x.rank())));
    return c.set(0, c.dtype(0), Shape::unknown_rank());
  }
  if (axes->empty() && noop) return c.set(0, c.dtype(0), x);
  if (!x.has_rank()) return c.set(0, c.dtype(0), Shape::unknown_rank());
  const int64_t r = int64_t(x.rank());
  std::vector<bool> reduced(size_t(r), axes->empty());
  for (int64_t a : *axes) {
    int64_t n = normalize_axis(a, r);
    if (reduced[size_t(n)]) fail<ShapeError>("axis ", a, " is listed twice");
    reduced[size_t(n)] = true;
  }
  std::vector<Dim> out;
  for (int64_t d = 0; d < r; ++d) {
    if (!reduced[size_t(d)]) out.push_back(x[size_t(d)]);
    else if (keep) out.emplace_back(1);
  }
  c.set(0, c.dtype(0), Shape(std::move(out)));
}

void arg_reduce(InferContext& c) {
  require_supported(c);
  const Shape& x = c.shape(0);
  const bool keep = c.attrs().get_int_or("keepdims", 1) != 0;
  if (!x.has_rank()) return c.set(0, DType::i64, Shape::unknown_rank());
  const int64_t r = int64_t(x.rank());
  const int64_t axis = normalize_axis(c.attrs().get_int_or("axis", 0), r);
  if (x[size_t(axis)].is_static() && x[size_t(axis)].value == 0)
    fail<ShapeError>("cannot take ", c.node.op_name(), " over the empty axis ", axis);
  std::vector<Dim> out;
  for (int64_t d = 0; d < r; ++d) {
    if (d != axis) out.push_back(x[size_t(d)]);
    else if (keep) out.emplace_back(1);
  }
  c.set(0, DType::i64, Shape(std::move(out)));
}

}  // namespace

void register_reduce() {
  for (OpKind op : {OpKind::ReduceMean, OpKind::ReduceMax, OpKind::ReduceMin, OpKind::ReduceSum,
                    OpKind::ReduceProd, OpKind::ReduceL2})
    set_infer_fn(op, reduce);
  set_infer_fn(OpKind::ArgMax, arg_reduce);
  set_infer_fn(OpKind::ArgMin, arg_reduce);
}

}  // namespace mq::ops
