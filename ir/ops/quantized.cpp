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
//     from its own range; or X u8/i8 (QuantParams per tensor on its type: a static int8
//     input read as it is, the float output of a layer no quantized layer reads).
//   QLSTM(X f32 (or u8 at x_scale / x_zero_point), W i8 [D·4H, I], R i8 [D·4H, H], B f32 [D, 8H]?, sequence_lens?,
//   initial_h?,
//     initial_c?) → Y, Y_h, Y_c f32 as ONNX LSTM (gate order i, o, f, c; directions stacked
//     along W's and R's rows, each row quantized with its own scale: per channel, axis 0);
//     attrs: direction, hidden_size, layout, and x_scale, x_zero_point, h_scale,
//     h_zero_point (static u8 ranges of x and h). DynamicQLSTM: the same without the static
//     ranges (x per call, h per step).
//
// ONNX's integer ops keep ONNX's semantics: QLinearMatMul, QLinearConv, MatMulInteger,
// ConvInteger (u8 or i8 operands; convolutions 1-D or 2-D).
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "ir/error.h"
#include "ir/ops/families.h"

namespace mq::ops {

namespace {

std::optional<QuantParams> params_from(const InferContext& c, size_t scale_i, size_t zp_i, DType qtype,
                                       std::optional<int64_t> axis) {
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
  for (float v : q.scales)
    if (!(std::isfinite(v) && v > 0)) fail<ShapeError>("scale ", v, " must be finite and > 0");
  if (q.zero_points.size() != q.scales.size())
    fail<ShapeError>("scale has ", q.scales.size(), " values but zero point has ", q.zero_points.size());
  if (q.scales.size() > 1 || (s->rank() == 1 && axis)) q.axis = axis;
  q.qtype = qtype;
  q.check();
  return q;
}

bool is_int8(DType t) { return t == DType::u8 || t == DType::i8; }

void require_int8(const InferContext& c, size_t i, const char* what) {
  if (c.has_input(i) && !is_int8(c.dtype(i)))
    fail<UnsupportedError>(what, " must be uint8 or int8, got ", dtype_name(c.dtype(i)));
}

void require_f32_operand(const InferContext& c, size_t i, const char* what) {
  if (c.has_input(i) && c.dtype(i) != DType::f32)
    fail<UnsupportedError>(what, " must be float, got ", dtype_name(c.dtype(i)));
}

// Scales and zero points: a scalar, or a 1-D tensor (per row / column / channel; sizes are
// checked by the executors).
void require_scalar_or_1d(const InferContext& c, size_t i, const char* what) {
  if (c.has_input(i) && c.shape(i).has_rank() && c.shape(i).rank() > 1)
    fail<ShapeError>(what, " must be a scalar or 1-D, got ", c.shape(i).str());
}

void check_block_size(const InferContext& c) {
  if (c.attrs().get_int_or("block_size", 0) != 0)
    fail<UnsupportedError>("blocked quantization (block_size ", c.attrs().get_int("block_size"), ")");
}

void quantize_linear(InferContext& c) {
  check_block_size(c);
  if (c.dtype(0) != DType::f32 && c.dtype(0) != DType::i32)
    fail<UnsupportedError>("input type ", dtype_name(c.dtype(0)));
  require_f32_operand(c, 1, "scale");
  DType out = DType::u8;
  if (c.has_input(2)) {
    out = c.dtype(2);
  } else if (c.attrs().has("output_dtype")) {
    int64_t t = c.attrs().get_int("output_dtype");
    if (t == 3) out = DType::i8;  // ONNX TensorProto.INT8
    else if (t != 2 && t != 0) fail<UnsupportedError>("output_dtype ", t);
  }
  if (out != DType::u8 && out != DType::i8) fail<UnsupportedError>("output type ", dtype_name(out));
  c.set(0, out, c.shape(0));
  int64_t axis = c.attrs().get_int_or("axis", 1);
  if (c.shape(0).has_rank() && c.shape(1).has_rank() && c.shape(1).rank() == 1 && c.shape(0).rank() > 0)
    axis = normalize_axis(axis, int64_t(c.shape(0).rank()));
  c.outputs[0].quant = params_from(c, 1, 2, out, axis);
}

void dequantize_linear(InferContext& c) {
  check_block_size(c);
  const DType t = c.dtype(0);
  if (!is_int8(t) && t != DType::i32) fail<UnsupportedError>("input type ", dtype_name(t));
  require_f32_operand(c, 1, "scale");
  if (c.has_input(2) && c.dtype(2) != t)
    fail<ShapeError>("zero point type ", dtype_name(c.dtype(2)), " differs from the input's ", dtype_name(t));
  c.set(0, DType::f32, c.shape(0));
}

void dynamic_quantize_linear(InferContext& c) {
  require_f32_operand(c, 0, "input");
  c.set(0, DType::u8, c.shape(0));
  c.set(1, DType::f32, Shape{});
  c.set(2, DType::u8, Shape{});
}

// Scales and zero points of a weight (its type's QuantParams): one, or one per output channel.
void check_weight_quant(const InferContext& c, size_t wi) {
  const auto& q = c.in(wi).quant;
  const Shape& w = c.shape(wi);
  if (!q || !w.has_rank() || w.rank() < 1 || !w[0].is_static()) return;
  if (q->zero_points.size() != q->scales.size())
    fail<ShapeError>("weight has ", q->scales.size(), " scales but ", q->zero_points.size(), " zero points");
  for (float v : q->scales)
    if (!(std::isfinite(v) && v > 0)) fail<ShapeError>("weight scale ", v, " must be finite and > 0");
  if (q->scales.size() != 1 && int64_t(q->scales.size()) != w[0].value)
    fail<ShapeError>("weight has ", q->scales.size(), " scales for ", w[0].value, " output channels");
}

// The output scale and zero point: scalars (or one-element vectors).
void check_output_params(const InferContext& c, size_t scale_i) {
  for (size_t i : {scale_i, scale_i + 1}) {
    if (!c.has_input(i) || !c.shape(i).has_rank()) continue;
    const Shape& s = c.shape(i);
    if (s.rank() > 1 || (s.rank() == 1 && s[0].is_static() && s[0].value != 1))
      fail<ShapeError>(i == scale_i ? "y_scale" : "y_zero_point", " must be a scalar, got ", s.str());
  }
  require_f32_operand(c, scale_i, "y_scale");
  require_int8(c, scale_i + 1, "y_zero_point");
}

// QLinear / QConv2d: the float layer's shape checks, plus the operand types the executors rely on.
void qlayer(InferContext& c, OpKind float_op, size_t scale_i) {
  require_int8(c, 0, "input");
  if (c.has_input(1) && c.dtype(1) != DType::i8)
    fail<UnsupportedError>("weight must be int8, got ", dtype_name(c.dtype(1)));
  if (c.has_input(2) && c.dtype(2) != DType::i32)
    fail<UnsupportedError>("bias must be int32, got ", dtype_name(c.dtype(2)));
  check_output_params(c, scale_i);
  check_weight_quant(c, 1);
  const Shape& x = c.shape(0);
  const Shape& w = c.shape(1);
  if (c.has_input(2) && c.shape(2).has_rank() && w.has_rank() && w.rank() >= 1) {
    const Shape& b = c.shape(2);
    if (b.rank() != 1) fail<ShapeError>("bias must be 1-D, got ", b.str());
    check_dims(b[0], w[0], "bias size does not match the output channels");
  }
  Shape s = Shape::unknown_rank();
  if (float_op == OpKind::Linear) {
    if (w.has_rank() && w.rank() != 2) fail<ShapeError>("weight must be 2-D [out, in], got ", w.str());
    if (x.has_rank() && x.rank() < 1) fail<ShapeError>("input must have at least 1 dim");
    if (x.has_rank() && w.has_rank()) {
      check_dims(x[x.rank() - 1], w[1], "input features do not match the weight");
      s = x;
      s[s.rank() - 1] = w[0];
    }
  } else {
    // layout NHWC (a Session's compiled plan only): the same convolution on [N,H,W,C] data
    const std::string layout = c.attrs().get_string_or("layout", "NCHW");
    if (layout != "NCHW" && layout != "NHWC")
      fail<UnsupportedError>("attribute 'layout' '", layout, "' is not NCHW or NHWC");
    if (layout == "NHWC") {
      if (x.has_rank() && x.rank() != 4) fail<ShapeError>("input must be 4-D [N,H,W,C], got ", x.str());
      Shape o = conv2d_shape(c, x.has_rank() ? Shape(std::vector<Dim>{x[0], x[3], x[1], x[2]}) : x);
      s = o.has_rank() ? Shape(std::vector<Dim>{o[0], o[2], o[3], o[1]}) : o;
    } else {
      s = conv2d_shape(c);
    }
  }
  DType out = c.has_input(scale_i + 1) ? c.dtype(scale_i + 1) : DType::u8;
  c.set(0, out, s);
  c.outputs[0].quant = params_from(c, scale_i, scale_i + 1, out, std::nullopt);
}

void dynamic_qlinear(InferContext& c) {
  if (c.has_input(0) && (c.dtype(0) == DType::u8 || c.dtype(0) == DType::i8)) {
    const auto& q = c.in(0).quant;
    if (q && q->scales.size() != 1) fail<UnsupportedError>("an int8 input must be quantized per tensor");
  } else {
    require_f32_operand(c, 0, "input");
  }
  if (c.has_input(1) && c.dtype(1) != DType::i8)
    fail<UnsupportedError>("weight must be int8, got ", dtype_name(c.dtype(1)));
  require_f32_operand(c, 2, "bias");
  check_weight_quant(c, 1);
  const Shape& x = c.shape(0);
  const Shape& w = c.shape(1);
  if (w.has_rank() && w.rank() != 2) fail<ShapeError>("weight must be 2-D [out, in], got ", w.str());
  if (c.has_input(2) && c.shape(2).has_rank() && w.has_rank()) {
    if (c.shape(2).rank() != 1) fail<ShapeError>("bias must be 1-D, got ", c.shape(2).str());
    check_dims(c.shape(2)[0], w[0], "bias size does not match the output features");
  }
  Shape s = Shape::unknown_rank();
  if (x.has_rank() && w.has_rank()) {
    if (x.rank() < 1) fail<ShapeError>("input must have at least 1 dim");
    check_dims(x[x.rank() - 1], w[1], "input features do not match the weight");
    s = x;
    s[s.rank() - 1] = w[0];
  }
  c.set(0, DType::f32, s);
}

// Operand i has exactly `dims` where they are known.
void check_shape(const InferContext& c, size_t i, const std::vector<Dim>& dims, const char* what) {
  if (!c.has_input(i) || !c.shape(i).has_rank()) return;
  const Shape& s = c.shape(i);
  if (s.rank() != dims.size()) fail<ShapeError>(what, " must have ", dims.size(), " dims, got ", s.str());
  for (size_t k = 0; k < dims.size(); ++k) check_dims(s[k], dims[k], what);
}

void qlstm(InferContext& c) {
  // X [T,B,I] (layout 0) or [B,T,I] (layout 1); W [D·4H, I], R [D·4H, H] int8; B [D, 8H].
  // QLSTM's X may be u8 already: quantized at x_scale / x_zero_point, which it must carry.
  if (c.node.op() == OpKind::QLSTM && c.dtype(0) == DType::u8) {
    const auto& q = c.in(0).quant;
    const Attributes& at = c.attrs();
    if (!q || q->per_channel() || q->scales[0] != at.get_float_or("x_scale", 0.f) ||
        q->zero_points[0] != at.get_int_or("x_zero_point", -1))
      fail<ShapeError>("a u8 X must carry the quantization of attributes x_scale and x_zero_point");
  } else {
    require_f32_operand(c, 0, "X");
  }
  for (size_t i : {3, 5, 6}) require_f32_operand(c, i, "B, initial_h and initial_c");
  for (size_t i : {1, 2})
    if (c.has_input(i) && c.dtype(i) != DType::i8) fail<UnsupportedError>("W and R must be int8");
  const Attributes& at = c.attrs();
  const int64_t layout = at.get_int_or("layout", 0);
  if (layout != 0 && layout != 1) fail<UnsupportedError>("attribute 'layout' must be 0 or 1, got ", layout);
  const std::string dir = at.get_string_or("direction", "forward");
  if (dir != "forward" && dir != "reverse" && dir != "bidirectional")
    fail<UnsupportedError>("attribute 'direction' '", dir, "' is not forward, reverse or bidirectional");
  const int64_t H = at.get_int("hidden_size");
  if (H < 1 || H > (int64_t(1) << 24)) fail<ShapeError>("attribute 'hidden_size' ", H, " is out of range");
  for (const char* v : {"x", "h"}) {  // QLSTM's static u8 ranges (attributes; DynamicQLSTM has none)
    const std::string scale = std::string(v) + "_scale", zp = std::string(v) + "_zero_point";
    if (!at.has(scale) && !at.has(zp)) continue;
    QuantParams q;
    q.scales = {at.get_float_or(scale, 0.f)};
    q.zero_points = {int32_t(std::clamp<int64_t>(at.get_int_or(zp, 0), INT32_MIN, INT32_MAX))};
    q.qtype = DType::u8;
    with_context("attributes '" + scale + "', '" + zp + "'", [&] {
      q.check();
      return 0;
    });
  }
  const int64_t D = dir == "bidirectional" ? 2 : 1;
  if (c.node.outputs().size() > 3) fail<ShapeError>("too many outputs");
  const Shape& x = c.shape(0);
  if (x.has_rank() && x.rank() != 3) fail<ShapeError>("X must be 3-D, got ", x.str());
  Dim t = x.has_rank() ? (layout ? x[1] : x[0]) : Dim();
  Dim b = x.has_rank() ? (layout ? x[0] : x[1]) : Dim();
  Dim in = x.has_rank() ? x[2] : Dim();
  Dim dirs(D), hidden(H), gates(D * 4 * H);
  check_shape(c, 1, {gates, in}, "W");
  check_shape(c, 2, {gates, hidden}, "R");
  check_weight_quant(c, 1);
  check_weight_quant(c, 2);
  check_shape(c, 3, {dirs, Dim(8 * H)}, "B");
  const std::vector<Dim> state = layout ? std::vector<Dim>{b, dirs, hidden} : std::vector<Dim>{dirs, b, hidden};
  check_shape(c, 5, state, "initial_h");
  check_shape(c, 6, state, "initial_c");
  if (layout) {
    c.set(0, DType::f32, Shape(std::vector<Dim>{b, t, dirs, hidden}));
    for (size_t i = 1; i < c.node.outputs().size(); ++i)
      c.set(i, DType::f32, Shape(std::vector<Dim>{b, dirs, hidden}));
  } else {
    c.set(0, DType::f32, Shape(std::vector<Dim>{t, dirs, b, hidden}));
    for (size_t i = 1; i < c.node.outputs().size(); ++i)
      c.set(i, DType::f32, Shape(std::vector<Dim>{dirs, b, hidden}));
  }
}

// Output shape of ConvInteger / QLinearConv: x [N,C,...], w [M,C/group,...], 1 or 2 spatial dims.
Shape int_conv_shape(const InferContext& c, size_t xi, size_t wi) {
  const Shape& x = c.shape(xi);
  const Shape& w = c.shape(wi);
  const Attributes& at = c.attrs();
  const std::string auto_pad = at.get_string_or("auto_pad", "NOTSET");
  const int64_t group = at.get_int_or("group", 1);
  if (group < 1) fail<ShapeError>("group must be >= 1, got ", group);
  size_t rank = x.has_rank() ? x.rank() : w.has_rank() ? w.rank() : 0;
  if (rank == 0) return Shape::unknown_rank();
  if (rank != 3 && rank != 4)
    fail<UnsupportedError>("only 1-D and 2-D convolutions are supported (input rank ", rank, ")");
  if (x.has_rank() && w.has_rank() && x.rank() != w.rank())
    fail<ShapeError>("input ", x.str(), " and weight ", w.str(), " ranks differ");
  const size_t sp = rank - 2;
  const auto strides = at.get_ints_or("strides", std::vector<int64_t>(sp, 1));
  const auto dil = at.get_ints_or("dilations", std::vector<int64_t>(sp, 1));
  const auto pads = at.get_ints_or("pads", std::vector<int64_t>(2 * sp, 0));
  if (strides.size() != sp || dil.size() != sp || pads.size() != 2 * sp)
    fail<ShapeError>("strides and dilations need ", sp, " values and pads ", 2 * sp);
  for (int64_t v : strides)
    if (v < 1) fail<ShapeError>("strides must be >= 1");
  for (int64_t v : dil)
    if (v < 1) fail<ShapeError>("dilations must be >= 1");
  for (int64_t v : pads)
    if (v < 0) fail<ShapeError>("pads must be >= 0");
  if (!x.has_rank() || !w.has_rank()) return Shape::unknown_rank();
  if (x[1].is_static() && w[1].is_static() && x[1].value != w[1].value * group)
    fail<ShapeError>("input channels ", x[1].value, " != weight channels ", w[1].value, " × group ", group);
  if (w[0].is_static() && w[0].value % group != 0)
    fail<ShapeError>("output channels ", w[0].value, " not divisible by group ", group);
  if (at.has("kernel_shape")) {
    const auto ks = at.get_ints("kernel_shape");
    if (ks.size() != sp) fail<ShapeError>("kernel_shape needs ", sp, " values");
    for (size_t d = 0; d < sp; ++d) check_dims(Dim(ks[d]), w[2 + d], "kernel_shape does not match the weight");
  }
  std::vector<Dim> y = {x[0], w[0]};
  for (size_t d = 0; d < sp; ++d)
    y.push_back(w[2 + d].is_static() ? spatial_out_dim(x[2 + d], w[2 + d].value, strides[d], dil[d], pads[d],
                                                       pads[d + sp], auto_pad, false)
                                     : Dim());
  return Shape(std::move(y));
}

// QLinearMatMul(a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp) → y (y_zp's type).
void qlinear_matmul(InferContext& c) {
  require_int8(c, 0, "a");
  require_int8(c, 3, "b");
  require_int8(c, 7, "y_zero_point");
  for (size_t i : {1, 4, 6}) require_f32_operand(c, i, "scale");
  for (size_t i : {1, 2, 4, 5, 6, 7}) require_scalar_or_1d(c, i, "scale or zero point");
  if (c.dtype(2) != c.dtype(0)) fail<ShapeError>("a_zero_point's type differs from a's");
  if (c.dtype(5) != c.dtype(3)) fail<ShapeError>("b_zero_point's type differs from b's");
  const DType out = c.dtype(7);
  c.set(0, out, matmul_shape(c.shape(0), c.shape(3)));
  c.outputs[0].quant = params_from(c, 6, 7, out, std::nullopt);
}

// MatMulInteger(A, B, a_zp?, b_zp?) → int32.
void matmul_integer(InferContext& c) {
  require_int8(c, 0, "A");
  require_int8(c, 1, "B");
  for (size_t i : {2, 3}) require_scalar_or_1d(c, i, "zero point");
  if (c.has_input(2) && c.dtype(2) != c.dtype(0)) fail<ShapeError>("a_zero_point's type differs from A's");
  if (c.has_input(3) && c.dtype(3) != c.dtype(1)) fail<ShapeError>("b_zero_point's type differs from B's");
  c.set(0, DType::i32, matmul_shape(c.shape(0), c.shape(1)));
}

// QLinearConv(x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B?) → y (y_zp's type).
void qlinear_conv(InferContext& c) {
  require_int8(c, 0, "x");
  require_int8(c, 3, "w");
  require_int8(c, 7, "y_zero_point");
  for (size_t i : {1, 4, 6}) require_f32_operand(c, i, "scale");
  for (size_t i : {1, 2, 4, 5, 6, 7}) require_scalar_or_1d(c, i, "scale or zero point");
  if (c.dtype(2) != c.dtype(0)) fail<ShapeError>("x_zero_point's type differs from x's");
  if (c.dtype(5) != c.dtype(3)) fail<ShapeError>("w_zero_point's type differs from w's");
  if (c.has_input(8)) {
    if (c.dtype(8) != DType::i32) fail<ShapeError>("bias must be int32, got ", dtype_name(c.dtype(8)));
    if (c.shape(8).has_rank() && c.shape(8).rank() != 1)
      fail<ShapeError>("bias must be 1-D, got ", c.shape(8).str());
  }
  const DType out = c.dtype(7);
  c.set(0, out, int_conv_shape(c, 0, 3));
  c.outputs[0].quant = params_from(c, 6, 7, out, std::nullopt);
}

// ConvInteger(x, w, x_zp?, w_zp?) → int32.
void conv_integer(InferContext& c) {
  require_int8(c, 0, "x");
  require_int8(c, 1, "w");
  for (size_t i : {2, 3}) require_scalar_or_1d(c, i, "zero point");
  if (c.has_input(2) && c.dtype(2) != c.dtype(0)) fail<ShapeError>("x_zero_point's type differs from x's");
  if (c.has_input(3) && c.dtype(3) != c.dtype(1)) fail<ShapeError>("w_zero_point's type differs from w's");
  c.set(0, DType::i32, int_conv_shape(c, 0, 1));
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
  set_infer_fn(OpKind::QLinearMatMul, qlinear_matmul);
  set_infer_fn(OpKind::MatMulInteger, matmul_integer);
  set_infer_fn(OpKind::QLinearConv, qlinear_conv);
  set_infer_fn(OpKind::ConvInteger, conv_integer);
}

}  // namespace mq::ops
