// Inference for layers: Linear, Conv2d, MatMul, Gemm and the recurrent layers.
#include <algorithm>

#include "ir/ops/families.h"

namespace mq::ops {

void check_dims(const Dim& a, const Dim& b, const char* what) {
  if (a.is_static() && b.is_static() && a.value != b.value) fail<ShapeError>(what, ": ", a.value, " vs ", b.value);
}

Shape matmul_shape(const Shape& a, const Shape& b) {
  if (!a.has_rank() || !b.has_rank()) return Shape::unknown_rank();
  if (a.rank() == 0 || b.rank() == 0) fail<ShapeError>("operands must have at least 1 dim");
  std::vector<Dim> ad = a.dims(), bd = b.dims();
  if (ad.size() == 1) ad.insert(ad.begin(), Dim(1));
  if (bd.size() == 1) bd.push_back(Dim(1));
  check_dims(ad[ad.size() - 1], bd[bd.size() - 2], "inner dims of A and B differ");
  Shape batch = broadcast_shapes(Shape(std::vector<Dim>(ad.begin(), ad.end() - 2)),
                                 Shape(std::vector<Dim>(bd.begin(), bd.end() - 2)));
  std::vector<Dim> y = batch.dims();
  if (a.rank() > 1) y.push_back(ad[ad.size() - 2]);
  if (b.rank() > 1) y.push_back(bd[bd.size() - 1]);
  return Shape(std::move(y));
}

namespace {

void require_f32(const InferContext& c, size_t i, const char* what) {
  if (c.has_input(i) && c.dtype(i) != DType::f32)
    fail<UnsupportedError>(what, " must be f32, got ", dtype_name(c.dtype(i)));
}

// The fused epilogue a Session's plan gives Conv2d and Linear: attribute 'activation' and a
// residual operand 3 of the output's shape.
void check_epilogue(const InferContext& c, const Shape& y) {
  const std::string act = c.attrs().get_string_or("activation", "");
  static const char* acts[] = {"",     "Relu",      "LeakyRelu",   "Clip", "Sigmoid", "Tanh",
                               "Silu", "HardSwish", "HardSigmoid", "Gelu", "GeluTanh"};
  if (std::none_of(std::begin(acts), std::end(acts), [&](const char* a) { return act == a; }))
    fail<UnsupportedError>("attribute 'activation' '", act, "' is not a fusable activation");
  if (c.has_input(3)) {  // residual: y = act(layer) + z, z of the output's type
    require_f32(c, 3, "residual");
    if (c.shape(3).has_rank() && y.has_rank()) {
      if (c.shape(3).rank() != y.rank())
        fail<ShapeError>("residual ", c.shape(3).str(), " must have the output's shape ", y.str());
      for (size_t i = 0; i < y.rank(); ++i)
        check_dims(c.shape(3)[i], y[i], "residual must have the output's shape");
    }
  }
}

void linear(InferContext& c) {
  const Shape& x = c.shape(0);
  const Shape& w = c.shape(1);
  if (w.has_rank() && w.rank() != 2) fail<ShapeError>("weight must be 2-D [out, in], got ", w.str());
  // a bool input is a 0/1 mask (a compiled plan folds a Cast of a one-hot encoding in)
  if (c.dtype(0) != DType::boolean) require_f32(c, 0, "input");
  require_f32(c, 1, "weight");
  if (c.has_input(2) && c.shape(2).has_rank() && w.has_rank()) {
    const Shape& b = c.shape(2);
    if (b.rank() != 1) fail<ShapeError>("bias must be 1-D [out], got ", b.str());
    check_dims(b[0], w[0], "bias size does not match the weight's output features");
  }
  if (!x.has_rank() || !w.has_rank()) return c.set(0, DType::f32, Shape::unknown_rank());
  if (x.rank() < 1) fail<ShapeError>("input must have at least 1 dim");
  const Dim& in = x[x.rank() - 1];
  if (in.is_static() && w[1].is_static() && in.value != w[1].value)
    fail<ShapeError>("input features ", in.value, " do not match weight ", w.str());
  Shape y = x;
  y[y.rank() - 1] = w[0];
  check_epilogue(c, y);
  c.set(0, DType::f32, y);
}

// numpy matmul (matmul_shape).
void matmul(InferContext& c) {
  require_f32(c, 0, "A");
  require_f32(c, 1, "B");
  c.set(0, c.dtype(0), matmul_shape(c.shape(0), c.shape(1)));
}

// Gemm: Y[M,N] = alpha·op(A)·op(B) + beta·C, C unidirectionally broadcast to [M,N].
void gemm(InferContext& c) {
  for (size_t i = 0; i < 3; ++i) require_f32(c, i, "operand");
  const Shape& a = c.shape(0);
  const Shape& b = c.shape(1);
  if (a.has_rank() && a.rank() != 2) fail<ShapeError>("A must be 2-D, got ", a.str());
  if (b.has_rank() && b.rank() != 2) fail<ShapeError>("B must be 2-D, got ", b.str());
  const bool ta = c.attrs().get_int_or("transA", 0) != 0;
  const bool tb = c.attrs().get_int_or("transB", 0) != 0;
  Dim m, n, ka, kb;
  if (a.has_rank()) {
    m = a[ta ? 1 : 0];
    ka = a[ta ? 0 : 1];
  }
  if (b.has_rank()) {
    n = b[tb ? 0 : 1];
    kb = b[tb ? 1 : 0];
  }
  check_dims(ka, kb, "inner dims of A and B differ");
  if (c.has_input(2) && c.shape(2).has_rank()) {
    const Shape& cs = c.shape(2);
    if (cs.rank() > 2) fail<ShapeError>("C must have at most 2 dims, got ", cs.str());
    const Dim* mn[2] = {&m, &n};
    for (size_t i = 0; i < cs.rank(); ++i) {
      const Dim& d = cs[i];
      const Dim& t = *mn[2 - cs.rank() + i];
      if (d.is_static() && d.value != 1 && t.is_static() && d.value != t.value)
        fail<ShapeError>("C ", cs.str(), " does not broadcast to [", m.str(), ",", n.str(), "]");
    }
  }
  c.set(0, c.dtype(0), Shape(std::vector<Dim>{m, n}));
}

void conv2d(InferContext& c) {
  require_f32(c, 0, "input");
  require_f32(c, 1, "weight");
  require_f32(c, 2, "bias");
  if (c.has_input(2) && c.shape(2).has_rank()) {
    if (c.shape(2).rank() != 1) fail<ShapeError>("bias must be 1-D, got ", c.shape(2).str());
    if (c.shape(1).has_rank() && c.shape(1).rank() == 4)
      check_dims(c.shape(2)[0], c.shape(1)[0], "bias size does not match the output channels");
  }
  const std::string layout = c.attrs().get_string_or("layout", "NCHW");
  if (layout != "NCHW" && layout != "NHWC")
    fail<UnsupportedError>("attribute 'layout' '", layout, "' is not NCHW or NHWC");
  Shape y;
  if (layout == "NHWC") {
    // the same convolution with its activations stored [N,H,W,C]
    const Shape& x = c.shape(0);
    if (x.has_rank() && x.rank() != 4) fail<ShapeError>("input must be 4-D [N,H,W,C], got ", x.str());
    Shape nchw = x.has_rank() ? Shape(std::vector<Dim>{x[0], x[3], x[1], x[2]}) : x;
    Shape o = conv2d_shape(c, nchw);
    y = o.has_rank() ? Shape(std::vector<Dim>{o[0], o[2], o[3], o[1]}) : o;
  } else {
    y = conv2d_shape(c);
  }
  check_epilogue(c, y);
  c.set(0, c.dtype(0), y);
}

bool known_activation(const std::string& a) {
  static const char* names[] = {"Sigmoid",    "Tanh",   "Relu", "HardSigmoid", "LeakyRelu", "ThresholdedRelu",
                                "ScaledTanh", "Affine", "Elu",  "Softsign",    "Softplus"};
  return std::any_of(std::begin(names), std::end(names), [&](const char* n) { return a == n; });
}

// LSTM (gates 4, acts 3), GRU (3, 2), RNN (1, 1).
void recurrent(InferContext& c, int64_t gates, size_t acts) {
  for (size_t i : {0, 1, 2, 3, 5, 6, 7}) require_f32(c, i, "operand");
  const Attributes& at = c.attrs();
  const std::string dir = at.get_string_or("direction", "forward");
  if (dir != "forward" && dir != "reverse" && dir != "bidirectional")
    fail<UnsupportedError>("direction '", dir, "' is not forward, reverse or bidirectional");
  const int64_t D = dir == "bidirectional" ? 2 : 1;
  const int64_t layout = at.get_int_or("layout", 0);
  if (layout != 0 && layout != 1) fail<UnsupportedError>("layout must be 0 or 1, got ", layout);
  const auto names = at.get_strings_or("activations", {});
  if (!names.empty() && names.size() != acts * size_t(D))
    fail<ShapeError>("activations needs ", acts * size_t(D), " names, got ", names.size());
  for (const auto& a : names)
    if (!known_activation(a)) fail<UnsupportedError>("activation '", a, "' is not supported");
  if (c.has_input(4) && c.dtype(4) != DType::i32 && c.dtype(4) != DType::i64)
    fail<ShapeError>("sequence_lens must be int32");
  const Shape& x = c.shape(0);
  const Shape& w = c.shape(1);
  const Shape& r = c.shape(2);
  if (x.has_rank() && x.rank() != 3) fail<ShapeError>("X must be 3-D, got ", x.str());
  if (w.has_rank() && w.rank() != 3) fail<ShapeError>("W must be 3-D, got ", w.str());
  if (r.has_rank() && r.rank() != 3) fail<ShapeError>("R must be 3-D, got ", r.str());
  Dim H;
  if (at.has("hidden_size")) H = Dim(at.get_int("hidden_size"));
  else if (r.has_rank()) H = r[2];
  if (H.is_static() && H.value < 1) fail<ShapeError>("hidden_size must be >= 1");
  Dim S, B, I;
  if (x.has_rank()) {
    S = x[layout == 0 ? 0 : 1];
    B = x[layout == 0 ? 1 : 0];
    I = x[2];
  }
  Dim GH = H.is_static() ? Dim(mul_dims(gates, H.value)) : Dim();
  if (w.has_rank()) {
    check_dims(w[0], Dim(D), "W's first dim must be num_directions");
    check_dims(w[1], GH, "W's second dim must be gates × hidden_size");
    check_dims(w[2], I, "W's third dim must be the input size");
  }
  if (r.has_rank()) {
    check_dims(r[0], Dim(D), "R's first dim must be num_directions");
    check_dims(r[1], GH, "R's second dim must be gates × hidden_size");
    check_dims(r[2], H, "R's third dim must be hidden_size");
  }
  if (c.has_input(3) && c.shape(3).has_rank()) {
    const Shape& b = c.shape(3);
    if (b.rank() != 2) fail<ShapeError>("B must be 2-D, got ", b.str());
    check_dims(b[1], H.is_static() ? Dim(mul_dims(2 * gates, H.value)) : Dim(),
               "B's second dim must be 2 × gates × hidden_size");
  }
  const size_t n_out = c.node.outputs().size();
  if (n_out > (gates == 4 ? 3u : 2u)) fail<ShapeError>("too many outputs");
  const DType dt = c.dtype(0);
  Dim Dd(D);
  for (size_t i = 0; i < n_out; ++i) {
    if (i == 0)
      c.set(0, dt, layout == 0 ? Shape(std::vector<Dim>{S, Dd, B, H}) : Shape(std::vector<Dim>{B, S, Dd, H}));
    else c.set(i, dt, layout == 0 ? Shape(std::vector<Dim>{Dd, B, H}) : Shape(std::vector<Dim>{B, Dd, H}));
  }
}

void lstm(InferContext& c) { recurrent(c, 4, 3); }
void gru(InferContext& c) { recurrent(c, 3, 2); }
void rnn(InferContext& c) { recurrent(c, 1, 1); }
}  // namespace

Shape conv2d_shape(const InferContext& c) { return conv2d_shape(c, c.shape(0)); }

Shape conv2d_shape(const InferContext& c, const Shape& x) {
  const Shape& w = c.shape(1);
  if (x.has_rank() && x.rank() != 4) fail<ShapeError>("input must be 4-D [N,C,H,W], got ", x.str());
  if (w.has_rank() && w.rank() != 4) fail<ShapeError>("weight must be 4-D [M,C/group,kH,kW], got ", w.str());
  const Attributes& at = c.attrs();
  const int64_t group = at.get_int_or("group", 1);
  if (group < 1) fail<ShapeError>("attribute 'group' must be >= 1, got ", group);
  const auto strides = at.get_ints_or("strides", {1, 1});
  const auto dil = at.get_ints_or("dilations", {1, 1});
  const auto pads = at.get_ints_or("pads", {0, 0, 0, 0});
  const std::string auto_pad = at.get_string_or("auto_pad", "NOTSET");
  if (strides.size() != 2) fail<ShapeError>("attribute 'strides' needs 2 values, got ", strides.size());
  if (dil.size() != 2) fail<ShapeError>("attribute 'dilations' needs 2 values, got ", dil.size());
  if (pads.size() != 4) fail<ShapeError>("attribute 'pads' needs 4 values, got ", pads.size());
  for (int64_t v : strides)
    if (v < 1) fail<ShapeError>("attribute 'strides' must be >= 1, got ", v);
  for (int64_t v : dil)
    if (v < 1) fail<ShapeError>("attribute 'dilations' must be >= 1, got ", v);
  for (int64_t v : pads)
    if (v < 0) fail<ShapeError>("attribute 'pads' must be >= 0, got ", v);
  if (w.has_rank() && w[0].is_static() && w[0].value % group != 0)
    fail<ShapeError>("output channels ", w[0].value, " not divisible by attribute 'group' ", group);
  if (at.has("kernel_shape")) {
    const auto ks = at.get_ints("kernel_shape");
    if (ks.size() != 2) fail<ShapeError>("attribute 'kernel_shape' needs 2 values");
    if (w.has_rank()) {
      check_dims(Dim(ks[0]), w[2], "attribute 'kernel_shape' does not match the weight");
      check_dims(Dim(ks[1]), w[3], "attribute 'kernel_shape' does not match the weight");
    }
  }
  if (!x.has_rank() || !w.has_rank()) return Shape::unknown_rank();
  if (x[1].is_static() && w[1].is_static() && x[1].value != w[1].value * group)
    fail<ShapeError>("input channels ", x[1].value, " != weight channels ", w[1].value, " × group ", group);
  std::vector<Dim> y = {x[0], w[0], Dim(), Dim()};
  for (size_t d = 0; d < 2; ++d) {
    if (!w[2 + d].is_static()) continue;
    if (w[2 + d].value < 1) fail<ShapeError>("weight ", w.str(), " has an empty kernel");
    y[2 + d] =
        spatial_out_dim(x[2 + d], w[2 + d].value, strides[d], dil[d], pads[d], pads[d + 2], auto_pad, false);
  }
  return Shape(std::move(y));
}

Dim spatial_out_dim(const Dim& in, int64_t k, int64_t stride, int64_t dil, int64_t pb, int64_t pe,
                    const std::string& auto_pad, bool ceil_mode) {
  if (auto_pad != "NOTSET" && auto_pad != "VALID" && auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER")
    fail<UnsupportedError>("auto_pad '", auto_pad, "' is not supported");
  // bounds first, so that no sum or product below can overflow
  constexpr int64_t kMax = int64_t(1) << 30;
  if (k < 1 || k > kMax) fail<ShapeError>("kernel size ", k, " is out of range (1 to ", kMax, ")");
  if (stride < 1 || stride > kMax)
    fail<ShapeError>("attribute 'strides' ", stride, " is out of range (1 to ", kMax, ")");
  if (dil < 1 || dil > kMax) fail<ShapeError>("attribute 'dilations' ", dil, " is out of range (1 to ", kMax, ")");
  const int64_t eff = (k - 1) * dil + 1;
  // a window lying wholly in the padding is the most any conv or pool needs (ONNX Runtime
  // refuses pooling pads >= kernel); larger pads only make huge outputs of nothing
  if (auto_pad == "NOTSET" && (pb < 0 || pe < 0 || pb > eff || pe > eff))
    fail<ShapeError>("attribute 'pads' (", pb, ", ", pe, ") must lie in [0, ", eff, "], the window's extent");
  if (!in.is_static()) return Dim();
  if (in.value < 0 || in.value > (int64_t(1) << 40)) fail<ShapeError>("input size ", in.value, " is out of range");
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") return Dim((in.value + stride - 1) / stride);
  if (auto_pad == "VALID") pb = pe = 0;
  const int64_t span = in.value + pb + pe - eff;
  if (span < 0) fail<ShapeError>("window ", eff, " is larger than the padded input ", in.value + pb + pe);
  int64_t out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
  if (ceil_mode && (out - 1) * stride >= in.value + pb) --out;
  return Dim(out);
}

void register_layers() {
  set_infer_fn(OpKind::Linear, linear);
  set_infer_fn(OpKind::MatMul, matmul);
  set_infer_fn(OpKind::Gemm, gemm);
  set_infer_fn(OpKind::Conv2d, conv2d);
  set_infer_fn(OpKind::LSTM, lstm);
  set_infer_fn(OpKind::GRU, gru);
  set_infer_fn(OpKind::RNN, rnn);
}

}  // namespace mq::ops
