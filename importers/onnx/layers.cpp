// Builders for layers: Gemm and MatMul (lowered to Linear when the weight is a constant),
// Conv (Conv2d; 1-D convs as Conv2d with H = 1), LSTM, GRU, RNN.
#include "importers/onnx/builder.h"

namespace mq::onnx {

namespace {
Value* axes_constant(BuildContext& c, int64_t axis) {
  return c.constant("axes", Tensor::from_vector<int64_t>({1}, {axis}));
}

// A constant 2-D f32 operand, or null.
const Tensor* const_matrix(const Value* v) {
  if (!v || !v->is_constant()) return nullptr;
  const Tensor& t = *v->constant();
  return t.dtype() == DType::f32 && t.rank() == 2 ? &t : nullptr;
}

// Gemm: Y = alpha·op(A)·op(B) + beta·C. With a constant B this is Linear(op(A), W, bias) where
// W = alpha·op(B)ᵀ [N,K]; C becomes the bias when it is a constant broadcast along rows, and an
// Add otherwise. Anything else stays a Gemm.
void build_gemm(BuildContext& c) {
  Value* a = c.required(0);
  Value* b = c.required(1);
  Value* cv = c.input(2);
  const float alpha = c.attrs().get_float_or("alpha", 1.f);
  const float beta = c.attrs().get_float_or("beta", 1.f);
  const bool ta = c.attrs().get_int_or("transA", 0) != 0;
  const bool tb = c.attrs().get_int_or("transB", 0) != 0;
  const Tensor* bt = const_matrix(b);
  if (!bt || (a->dtype() != DType::f32 && a->dtype() != DType::undefined)) {
    Attributes at;
    at.set("alpha", alpha);
    at.set("beta", beta);
    at.set("transA", int64_t(ta));
    at.set("transB", int64_t(tb));
    std::vector<Value*> in = {a, b};
    if (cv) in.push_back(cv);
    c.emit(OpKind::Gemm, in, at);
    return;
  }
  const int64_t n = bt->dim(tb ? 0 : 1), k = bt->dim(tb ? 1 : 0);
  Tensor w(DType::f32, {n, k});
  const float* src = bt->data<float>();
  float* dst = w.data<float>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < k; ++j) dst[i * k + j] = alpha * (tb ? src[i * k + j] : src[j * n + i]);
  Value* wv = c.constant("weight", std::move(w));
  Value* x = a;
  if (ta) {
    Attributes perm;
    perm.set("perm", std::vector<int64_t>{1, 0});
    x = c.emit_internal(OpKind::Transpose, {a}, perm)->output(0);
  }
  if (!cv || beta == 0.f) {
    c.emit(OpKind::Linear, {x, wv}, {});
    return;
  }
  // A constant C of shape [], [1], [N], [1,1] or [1,N] is a bias vector.
  if (cv->is_constant() && cv->constant()->dtype() == DType::f32) {
    const Tensor& ct = *cv->constant();
    const auto& d = ct.dims();
    const bool row = d.empty() || (d.size() == 1 && (d[0] == n || d[0] == 1)) ||
                     (d.size() == 2 && d[0] == 1 && (d[1] == n || d[1] == 1));
    if (row) {
      Tensor bias(DType::f32, {n});
      const float* cp = ct.data<float>();
      for (int64_t i = 0; i < n; ++i) bias.data<float>()[i] = beta * cp[ct.numel() == 1 ? 0 : i];
      c.emit(OpKind::Linear, {x, wv, c.constant("bias", std::move(bias))}, {});
      return;
    }
  }
  Value* lin = c.emit_internal(OpKind::Linear, {x, wv}, {})->output(0);
  Value* addend = cv;
  if (beta != 1.f) {
    if (cv->is_constant() && cv->constant()->dtype() == DType::f32) {
      Tensor scaled = cv->constant()->clone();
      for (int64_t i = 0; i < scaled.numel(); ++i) scaled.data<float>()[i] *= beta;
      addend = c.constant("C_scaled", std::move(scaled));
    } else {
      addend = c.emit_internal(OpKind::Mul, {cv, c.constant("beta", Tensor::scalar<float>(beta))}, {})->output(0);
    }
  }
  c.emit(OpKind::Add, {lin, addend}, {});
}

// MatMul with a constant 2-D weight B [K,N] is Linear with W = Bᵀ [N,K].
void build_matmul(BuildContext& c) {
  Value* a = c.required(0);
  Value* b = c.required(1);
  const Tensor* bt = const_matrix(b);
  if (!bt || (a->dtype() != DType::f32 && a->dtype() != DType::undefined) ||
      (a->shape().has_rank() && a->shape().rank() == 0)) {
    c.emit(OpKind::MatMul, {a, b}, {});
    return;
  }
  const int64_t k = bt->dim(0), n = bt->dim(1);
  Tensor w(DType::f32, {n, k});
  const float* src = bt->data<float>();
  float* dst = w.data<float>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < k; ++j) dst[i * k + j] = src[j * n + i];
  c.emit(OpKind::Linear, {a, c.constant("weight", std::move(w))}, {});
}

void build_conv(BuildContext& c) {
  Value* x = c.required(0);
  Value* w = c.required(1);
  Value* bias = c.input(2);
  const Attributes& in = c.attrs();
  int64_t nd = -1;
  if (w->shape().has_rank()) nd = int64_t(w->shape().rank()) - 2;
  else if (x->shape().has_rank()) nd = int64_t(x->shape().rank()) - 2;
  else if (in.has("kernel_shape")) nd = int64_t(in.get_ints("kernel_shape").size());
  if (nd < 0) fail<UnsupportedError>("cannot tell the number of spatial dims (unknown ranks)");
  if (nd != 1 && nd != 2) fail<UnsupportedError>(nd, "-D convolution is not supported (1-D and 2-D only)");
  Attributes at;
  at.set("group", in.get_int_or("group", 1));
  at.set("auto_pad", in.get_string_or("auto_pad", "NOTSET"));
  if (nd == 2) {
    for (const char* name : {"strides", "pads", "dilations", "kernel_shape"})
      if (in.has(name)) at.set(name, in.get_ints(name));
    std::vector<Value*> ops = {x, w};
    if (bias) ops.push_back(bias);
    c.emit(OpKind::Conv2d, ops, at);
    return;
  }
  // 1-D: [N,C,L] → [N,C,1,L], weight [M,C/g,k] → [M,C/g,1,k], then squeeze the H dim.
  const auto strides = in.get_ints_or("strides", {1});
  const auto dil = in.get_ints_or("dilations", {1});
  const auto pads = in.get_ints_or("pads", {0, 0});
  if (strides.size() != 1 || dil.size() != 1 || pads.size() != 2)
    fail<ShapeError>("a 1-D Conv needs 1 stride, 1 dilation and 2 pads");
  at.set("strides", std::vector<int64_t>{1, strides[0]});
  at.set("dilations", std::vector<int64_t>{1, dil[0]});
  at.set("pads", std::vector<int64_t>{0, pads[0], 0, pads[1]});
  if (in.has("kernel_shape")) {
    const auto ks = in.get_ints("kernel_shape");
    if (ks.size() != 1) fail<ShapeError>("a 1-D Conv needs 1 kernel_shape value");
    at.set("kernel_shape", std::vector<int64_t>{1, ks[0]});
  }
  Value* x4 = c.emit_internal(OpKind::Unsqueeze, {x, axes_constant(c, 2)}, {})->output(0);
  Value* w4 = nullptr;
  if (w->is_constant() && w->constant()->rank() == 3) {
    const Tensor& wt = *w->constant();
    w4 = c.constant("weight", wt.reshaped({wt.dim(0), wt.dim(1), 1, wt.dim(2)}));
  } else {
    w4 = c.emit_internal(OpKind::Unsqueeze, {w, axes_constant(c, 2)}, {})->output(0);
  }
  std::vector<Value*> ops = {x4, w4};
  if (bias) ops.push_back(bias);
  Value* y4 = c.emit_internal(OpKind::Conv2d, ops, at)->output(0);
  c.emit(OpKind::Squeeze, {y4, axes_constant(c, 2)}, {});
}

// LSTM / GRU / RNN map 1:1; opset-1 `output_sequence` is dropped (outputs say what is used).
void build_recurrent(BuildContext& c, OpKind op) {
  Attributes at = c.attrs();
  at.erase("output_sequence");
  c.emit(op, c.inputs(), at);
}
}  // namespace

void register_layer_builders() {
  register_builder("Gemm", build_gemm);
  register_builder("MatMul", build_matmul);
  register_builder("Conv", build_conv);
  register_builder("LSTM", [](BuildContext& c) { build_recurrent(c, OpKind::LSTM); });
  register_builder("GRU", [](BuildContext& c) { build_recurrent(c, OpKind::GRU); });
  register_builder("RNN", [](BuildContext& c) { build_recurrent(c, OpKind::RNN); });
}

}  // namespace mq::onnx
