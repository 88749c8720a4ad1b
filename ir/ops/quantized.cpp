// Inference for quantization ops. QuantParams are attached to outputs whenever the scale and
// zero point operands are known (constants, or any operand at run time).
//
// monoquant's quantized layers (operands after the float layer's own, all constants but X):
//   QLinear(X u8/i8, W i8 [out,in], B i32 [out]?, y_scale f32, y_zero_point u8/i8)
//     → Y u8/i8; X's QuantParams are on its type; W per channel (axis 0) or per tensor;
//     B has scale x_scale·w_scale, zero point 0. attrs: activation ("", "relu", "clip"),
//     clip_min / clip_max (floats, for "clip").
//   QConv2d(X, W i8 [M,C/g,kh,kw], B i32?, y_scale, y_zero_point) → Y; Conv2d's attrs plus
//     activation, as QLinear. NCHW like Conv2d.
//   DynamicQLinear(X f32, W i8 (QuantParams), B f32?) → Y f32: X quantized per call to u8
//     from its own range.
//   QLSTM(X f32, W i8 [D·4H, I], R i8 [D·4H, H], B f32 [D, 8H]?, sequence_lens?, initial_h?,
//     initial_c?) → Y, Y_h, Y_c f32 as ONNX LSTM (gate order i, o, f, c; directions stacked
//     along W's and R's rows, each row quantized with its own scale: per channel, axis 0);
//     attrs: direction, hidden_size, layout, and x_scale, x_zero_point, h_scale,
//     h_zero_point (static u8 ranges of x and h). DynamicQLSTM: the same without the static
//     ranges (x per call, h per step).
#include "ir/ops/families.h"

namespace mq::ops {

namespace {

std::optional<QuantParams> params_from(const InferContext& c, size_t scale_i, size_t zp_i,
                                       DType qtype, std::optional<int64_t> axis) {
  const Tensor* s = c.value(scale_i);
  if (!s) return std::nullopt;
  QuantParams q;
  q.scales = s->to_float();
  const Tensor* z = c.has_input(zp_i) ? c.value(zp_i) : nullptr;
  if (c.has_input(zp_i) && !z) return std::nullopt;
  if (z) {
    for (auto v : z->to_int64()) q.zero_points.push_back(int32_t(v));
  } else {
    q.zero_points.assign(q.scales.size(), 0);
  }
  if (q.zero_points.size() != q.scales.size())
    fail<ShapeError>("scale has ", q.scales.size(), " values but zero point has ", q.zero_points.size());
  if (q.scales.size() > 1 || (s->rank() == 1 && axis)) q.axis = axis;
  q.qtype = qtype;
  return q;
}

void quantize_linear(InferContext& c) {
  DType out = c.has_input(2) ? c.dtype(2) : DType::u8;
  if (out != DType::u8 && out != DType::i8) fail<UnsupportedError>("output type ", dtype_name(out));
  c.set(0, out, c.shape(0));
  int64_t axis = c.attrs().get_int_or("axis", 1);
  if (c.shape(0).has_rank() && c.shape(1).has_rank() && c.shape(1).rank() == 1 && c.shape(0).rank() > 0)
    axis = normalize_axis(axis, int64_t(c.shape(0).rank()));
  c.outputs[0].quant = params_from(c, 1, 2, out, axis);
}

void dequantize_linear(InferContext& c) {
  c.set(0, DType::f32, c.shape(0));
}

void dynamic_quantize_linear(InferContext& c) {
  c.set(0, DType::u8, c.shape(0));
  c.set(1, DType::f32, Shape{});
  c.set(2, DType::u8, Shape{});
}

void qlayer(InferContext& c, OpKind float_op, size_t scale_i) {
  // Shape as the float layer; output type from the output zero point.
  Shape s = Shape::unknown_rank();
  const Shape& x = c.shape(0);
  const Shape& w = c.shape(1);
  if (float_op == OpKind::Linear) {
    if (x.has_rank() && w.has_rank() && w.rank() == 2) {
      s = x;
      s[s.rank() - 1] = w[0];
    }
  } else if (x.has_rank() && w.has_rank() && x.rank() == 4 && w.rank() == 4) {
    auto pads = c.attrs().get_ints_or("pads", {0, 0, 0, 0});
    auto strides = c.attrs().get_ints_or("strides", {1, 1});
    auto dil = c.attrs().get_ints_or("dilations", {1, 1});
    std::vector<Dim> d{x[0], w[0], Dim(), Dim()};
    for (int i = 0; i < 2; ++i) {
      const Dim& in = x[2 + i];
      const Dim& k = w[2 + i];
      if (in.is_static() && k.is_static())
        d[2 + i] = Dim((in.value + pads[i] + pads[i + 2] - dil[i] * (k.value - 1) - 1) / strides[i] + 1);
    }
    s = Shape(std::move(d));
  }
  DType out = c.has_input(scale_i + 1) ? c.dtype(scale_i + 1) : DType::u8;
  c.set(0, out, s);
  c.outputs[0].quant = params_from(c, scale_i, scale_i + 1, out, std::nullopt);
}

void dynamic_qlinear(InferContext& c) {
  const Shape& x = c.shape(0);
  const Shape& w = c.shape(1);
  Shape s = Shape::unknown_rank();
  if (x.has_rank() && w.has_rank() && w.rank() == 2) {
    s = x;
    s[s.rank() - 1] = w[0];
  }
  c.set(0, DType::f32, s);
}

void qlstm(InferContext& c) {
  // Same shapes as LSTM: X [T,B,I] (layout 0) or [B,T,I] (layout 1); W [D,4H,I].
  const Shape& x = c.shape(0);
  const Shape& w = c.shape(1);
  int64_t layout = c.attrs().get_int_or("layout", 0);
  (void)w;
  Dim dirs = Dim(c.attrs().get_string_or("direction", "forward") == "bidirectional" ? 2 : 1);
  Dim hidden = Dim(c.attrs().get_int("hidden_size"));
  Dim t = x.has_rank() && x.rank() == 3 ? (layout ? x[1] : x[0]) : Dim();
  Dim b = x.has_rank() && x.rank() == 3 ? (layout ? x[0] : x[1]) : Dim();
  if (layout) {
    c.set(0, DType::f32, Shape(std::vector<Dim>{b, t, dirs, hidden}));
    c.set(1, DType::f32, Shape(std::vector<Dim>{b, dirs, hidden}));
    c.set(2, DType::f32, Shape(std::vector<Dim>{b, dirs, hidden}));
  } else {
    c.set(0, DType::f32, Shape(std::vector<Dim>{t, dirs, b, hidden}));
    c.set(1, DType::f32, Shape(std::vector<Dim>{dirs, b, hidden}));
    c.set(2, DType::f32, Shape(std::vector<Dim>{dirs, b, hidden}));
  }
}

}  // namespace

void register_quantized() {
  set_infer_fn(OpKind::QuantizeLinear, quantize_linear);
  set_infer_fn(OpKind::DequantizeLinear, dequantize_linear);
  set_infer_fn(OpKind::DynamicQuantizeLinear, dynamic_quantize_linear);
  set_infer_fn(OpKind::QLinear, [](InferContext& c) { qlayer(c, OpKind::Linear, 3); });
  set_infer_fn(OpKind::QConv2d, [](InferContext& c) { qlayer(c, OpKind::Conv2d, 3); });
  set_infer_fn(OpKind::DynamicQLinear, dynamic_qlinear);
  set_infer_fn(OpKind::QLSTM, qlstm);
  set_infer_fn(OpKind::DynamicQLSTM, qlstm);
}

}  // namespace mq::ops
