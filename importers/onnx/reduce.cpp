// Builders for reductions and ArgMax/ArgMin. Canonicalization: before opset 18 (ReduceSum:
// before 13) `axes` is an attribute; it becomes a constant int64 operand.
#include "importers/onnx/builder.h"

namespace mq::onnx {

namespace {

void build_reduce(BuildContext& c, OpKind op, int64_t axes_input_opset) {
  Attributes a = c.attrs();
  std::vector<Value*> in = {c.required(0)};
  if (c.opset < axes_input_opset) {
    if (c.num_inputs() > 1) fail<FormatError>("takes one operand before opset ", axes_input_opset);
    if (a.has("axes")) {
      auto axes = a.get_ints("axes");
      in.push_back(c.constant("axes", Tensor::from_vector<int64_t>({int64_t(axes.size())}, axes)));
      a.erase("axes");
    }
  } else {
    if (a.has("axes")) fail<FormatError>("attribute 'axes' is an operand since opset ", axes_input_opset);
    if (c.input(1)) in.push_back(c.input(1));
  }
  for (const auto& [name, v] : a.all())
    if (name != "keepdims" && name != "noop_with_empty_axes")
      fail<UnsupportedError>("attribute '", name, "' is not supported");
  c.emit(op, std::move(in), std::move(a));
}

}  // namespace

void register_reduce_builders() {
  register_builder("ReduceSum", [](BuildContext& c) { build_reduce(c, OpKind::ReduceSum, 13); });
  register_builder("ReduceMean", [](BuildContext& c) { build_reduce(c, OpKind::ReduceMean, 18); });
  register_builder("ReduceMax", [](BuildContext& c) { build_reduce(c, OpKind::ReduceMax, 18); });
  register_builder("ReduceMin", [](BuildContext& c) { build_reduce(c, OpKind::ReduceMin, 18); });
  register_builder("ReduceProd", [](BuildContext& c) { build_reduce(c, OpKind::ReduceProd, 18); });
  register_builder("ReduceL2", [](BuildContext& c) { build_reduce(c, OpKind::ReduceL2, 18); });
  register_builder("ArgMax", [](BuildContext& c) { build_same(c, OpKind::ArgMax); });
  register_builder("ArgMin", [](BuildContext& c) { build_same(c, OpKind::ArgMin); });
}

}  // namespace mq::onnx
