// Builders for pooling and normalization.
#include "importers/onnx/builder.h"

namespace mq::onnx {

namespace {
// BatchNormalization: the inference form only. Opset 6 is_test = 0 (training), opset 6–8 `spatial` = 0
// (per-element statistics) and the training outputs (running and saved mean/var) are rejected.
void build_batch_norm(BuildContext& c) {
  const Attributes& in = c.attrs();
  if (c.opset < 7 && in.get_int_or("is_test", 0) == 0)
    fail<UnsupportedError>("is_test = 0 (training mode, opset ", c.opset, ") is not supported");
  if (in.get_int_or("spatial", 1) != 1)
    fail<UnsupportedError>("spatial = 0 (per-activation statistics) is not supported");
  if (in.get_int_or("training_mode", 0) != 0)
    fail<UnsupportedError>("training_mode is not supported (inference form only)");
  for (size_t i = 1; i < c.num_outputs(); ++i)
    if (!c.proto.output(int(i)).empty())
      fail<UnsupportedError>("training outputs (mean, var, saved mean/var) are not supported");
  Attributes at;
  at.set("epsilon", in.get_float_or("epsilon", 1e-5f));
  std::vector<Value*> ops;
  for (size_t i = 0; i < 5; ++i) ops.push_back(c.required(i));
  if (c.num_outputs() == 1) {
    c.emit(OpKind::BatchNormalization, ops, at);
  } else {  // unused trailing outputs: bind only Y
    Node* n = c.emit_internal(OpKind::BatchNormalization, ops, at);
    c.bind(0, n->output(0));
  }
}

void build_layer_norm(BuildContext& c) {
  Attributes at = c.attrs();
  std::vector<Value*> ops = {c.required(0), c.required(1)};
  if (c.input(2)) ops.push_back(c.input(2));
  c.emit(OpKind::LayerNormalization, ops, at);
}
}  // namespace

void register_pool_norm_builders() {
  register_builder("MaxPool", [](BuildContext& c) { build_same(c, OpKind::MaxPool); });
  register_builder("AveragePool", [](BuildContext& c) { build_same(c, OpKind::AveragePool); });
  register_builder("GlobalAveragePool", [](BuildContext& c) { build_same(c, OpKind::GlobalAveragePool); });
  register_builder("GlobalMaxPool", [](BuildContext& c) { build_same(c, OpKind::GlobalMaxPool); });
  register_builder("BatchNormalization", build_batch_norm);
  register_builder("InstanceNormalization", [](BuildContext& c) { build_same(c, OpKind::InstanceNormalization); });
  register_builder("LayerNormalization", build_layer_norm);
}

}  // namespace mq::onnx
