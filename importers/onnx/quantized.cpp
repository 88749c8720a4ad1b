// Builders for ONNX's quantization ops. QuantizeLinear / DequantizeLinear before opset 13
// are per tensor (no `axis`); the IR op's per-axis form only applies from opset 13 on.
// The integer ops (QLinearMatMul, QLinearConv, MatMulInteger, ConvInteger) map 1:1.
#include "importers/onnx/builder.h"

namespace mq::onnx {

namespace {

void build_quant(BuildContext& c, OpKind op) {
  if (c.opset >= 13) return build_same(c, op);
  if (c.attrs().has("axis")) fail<UnsupportedError>("attribute 'axis' needs opset 13 (model opset ", c.opset, ")");
  for (size_t i : {size_t(1), size_t(2)}) {
    const Value* v = c.input(i);
    if (!v || !v->shape().has_rank()) continue;
    for (const Dim& d : v->shape().dims())
      if (d.is_static() && d.value != 1)
        fail<ShapeError>("operand ", i, " must be a scalar before opset 13 (per-tensor quantization), got ",
                         v->shape().str());
  }
  build_same(c, op);
}

}  // namespace

void register_quantized_builders() {
  register_builder("QuantizeLinear", [](BuildContext& c) { build_quant(c, OpKind::QuantizeLinear); });
  register_builder("DequantizeLinear", [](BuildContext& c) { build_quant(c, OpKind::DequantizeLinear); });
  register_builder("DynamicQuantizeLinear", [](BuildContext& c) { build_same(c, OpKind::DynamicQuantizeLinear); });
  register_builder("QLinearMatMul", [](BuildContext& c) { build_same(c, OpKind::QLinearMatMul); });
  register_builder("QLinearConv", [](BuildContext& c) { build_same(c, OpKind::QLinearConv); });
  register_builder("MatMulInteger", [](BuildContext& c) { build_same(c, OpKind::MatMulInteger); });
  register_builder("ConvInteger", [](BuildContext& c) { build_same(c, OpKind::ConvInteger); });
}

}  // namespace mq::onnx
