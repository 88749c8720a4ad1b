// Builders for shape and data-movement ops. Older opsets are canonicalized into the IR form
// (newest opset): attributes that later became operands (Split split, Slice starts/ends/axes,
// Squeeze/Unsqueeze axes, Pad pads/value, Dropout ratio) become constant operands; opset 10
// Resize and Upsample become Resize with asymmetric coordinates and floor rounding.
#include "importers/onnx/builder.h"

namespace mq::onnx {

namespace {

/// A constant i64 list operand built from an ints attribute.
Value* ints_operand(BuildContext& c, const std::string& name) {
  auto v = c.attrs().get_ints(name);
  return c.constant(name, Tensor::from_vector<int64_t>({int64_t(v.size())}, v));
}

/// A scalar of dtype `dt` holding `v` (for the Pad value attribute).
Tensor scalar_of(DType dt, float v) {
  Tensor t(dt, {});
  switch (dt) {
    case DType::f32: *t.data<float>() = v; break;
    case DType::f64: *t.data<double>() = v; break;
    case DType::i8: *t.data<int8_t>() = int8_t(v); break;
    case DType::u8: *t.data<uint8_t>() = uint8_t(v); break;
    case DType::i16: *t.data<int16_t>() = int16_t(v); break;
    case DType::i32: *t.data<int32_t>() = int32_t(v); break;
    case DType::i64: *t.data<int64_t>() = int64_t(v); break;
    case DType::boolean: *t.data<bool>() = v != 0.f; break;
    default:
      if (v != 0.f) fail<UnsupportedError>("a pad value for ", dtype_name(dt), " data");
  }
  return t;
}

/// Moves the ints attribute `name` (when present) into operand slot `slot`.
void attr_to_operand(BuildContext& c, std::vector<Value*>& in, Attributes& attrs, const std::string& name,
                     size_t slot) {
  if (!attrs.has(name)) return;
  if (in.size() <= slot) in.resize(slot + 1, nullptr);
  in[slot] = ints_operand(c, name);
  attrs.erase(name);
}

void build_split(BuildContext& c) {
  std::vector<Value*> in = c.inputs();
  Attributes attrs = c.attrs();
  if (c.opset < 13) attr_to_operand(c, in, attrs, "split", 1);
  if ((in.size() < 2 || !in[1]) && !attrs.has("num_outputs")) attrs.set("num_outputs", int64_t(c.num_outputs()));
  c.emit(OpKind::Split, std::move(in), std::move(attrs));
}

void build_slice(BuildContext& c) {
  if (c.opset >= 10) return build_same(c, OpKind::Slice);
  std::vector<Value*> in{c.required(0), nullptr, nullptr};
  Attributes attrs = c.attrs();
  attr_to_operand(c, in, attrs, "starts", 1);
  attr_to_operand(c, in, attrs, "ends", 2);
  attr_to_operand(c, in, attrs, "axes", 3);
  if (!in[1] || !in[2]) fail<FormatError>("Slice needs starts and ends");
  c.emit(OpKind::Slice, std::move(in), std::move(attrs));
}

void build_squeeze_like(BuildContext& c, OpKind op) {
  if (c.opset >= 13) return build_same(c, op);
  std::vector<Value*> in{c.required(0)};
  Attributes attrs = c.attrs();
  attr_to_operand(c, in, attrs, "axes", 1);
  if (op == OpKind::Unsqueeze && in.size() < 2) fail<FormatError>("Unsqueeze needs axes");
  c.emit(op, std::move(in), std::move(attrs));
}

void build_pad(BuildContext& c) {
  if (c.opset >= 11) return build_same(c, OpKind::Pad);
  Value* x = c.required(0);
  Attributes attrs = c.attrs();
  std::vector<Value*> in{x};
  attr_to_operand(c, in, attrs, "pads", 1);
  if (in.size() < 2) fail<FormatError>("Pad needs pads");
  float value = attrs.get_float_or("value", 0.f);
  attrs.erase("value");
  if (value != 0.f) in.push_back(c.constant("value", scalar_of(x->dtype(), value)));
  c.emit(OpKind::Pad, std::move(in), std::move(attrs));
}

/// Opset-10 Resize and Upsample: nearest with floor, or linear, on asymmetric coordinates.
void build_legacy_resize(BuildContext& c, Value* scales) {
  Attributes attrs;
  std::string mode = c.attrs().get_string_or("mode", "nearest");
  if (mode == "bilinear") mode = "linear";
  attrs.set("mode", mode);
  attrs.set("coordinate_transformation_mode", std::string("asymmetric"));
  attrs.set("nearest_mode", std::string("floor"));
  c.emit(OpKind::Resize, {c.required(0), nullptr, scales}, std::move(attrs));
}

void build_resize(BuildContext& c) {
  if (c.opset >= 11) {
    // ONNX 1.12 era models spell tf_half_pixel_for_nearest "tf_half_pixel_for_nn".
    Attributes attrs = c.attrs();
    if (attrs.get_string_or("coordinate_transformation_mode", "") == "tf_half_pixel_for_nn")
      attrs.set("coordinate_transformation_mode", std::string("tf_half_pixel_for_nearest"));
    c.emit(OpKind::Resize, c.inputs(), std::move(attrs));
    return;
  }
  build_legacy_resize(c, c.required(1));
}

void build_upsample(BuildContext& c) {
  if (c.opset < 7) fail<UnsupportedError>("Upsample before opset 7 (width_scale/height_scale) is not supported");
  Value* scales = c.input(1);
  if (!scales) {
    auto v = c.attrs().get_floats("scales");
    scales = c.constant("scales", Tensor::from_vector<float>({int64_t(v.size())}, v));
  }
  build_legacy_resize(c, scales);
}

void build_dropout(BuildContext& c) {
  std::vector<Value*> in = c.inputs();
  Attributes attrs = c.attrs();
  if (c.opset < 7) {  // opset 6: is_test = 0 is training mode (random drops)
    if (attrs.get_int_or("is_test", 0) == 0)
      fail<UnsupportedError>("is_test = 0 (training mode, opset ", c.opset, ") is not supported");
    attrs.erase("is_test");
  }
  if (c.opset < 12 && attrs.has("ratio")) {
    in.resize(1);
    in.push_back(c.constant("ratio", Tensor::scalar<float>(attrs.get_float("ratio"))));
    attrs.erase("ratio");
  }
  c.emit(OpKind::Dropout, std::move(in), std::move(attrs));
}

}  // namespace

#define MQ_SAME(op) register_builder(#op, [](BuildContext& c) { build_same(c, OpKind::op); })

void register_shape_builders() {
  MQ_SAME(Reshape);
  MQ_SAME(Flatten);
  MQ_SAME(Transpose);
  MQ_SAME(Concat);
  MQ_SAME(Gather);
  MQ_SAME(Shape);
  MQ_SAME(Size);
  MQ_SAME(ConstantOfShape);
  MQ_SAME(Expand);
  MQ_SAME(Range);
  MQ_SAME(Tile);
  register_builder("Split", build_split);
  register_builder("Slice", build_slice);
  register_builder("Squeeze", [](BuildContext& c) { build_squeeze_like(c, OpKind::Squeeze); });
  register_builder("Unsqueeze", [](BuildContext& c) { build_squeeze_like(c, OpKind::Unsqueeze); });
  register_builder("Pad", build_pad);
  register_builder("Resize", build_resize);
  register_builder("Upsample", build_upsample);
  register_builder("Dropout", build_dropout);
}

}  // namespace mq::onnx
