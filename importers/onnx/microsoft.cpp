// Builders for ONNX Runtime's quantized contrib ops (domain com.microsoft), as
// onnxruntime.quantization writes them in QOperator format and for dynamic LSTMs. Each is
// lowered to standard ops between DequantizeLinear and QuantizeLinear with the file's scales
// and zero points: the compiled plan runs those chains as int8 passes, and the QDQ fusion
// (engine/passes/fuse_qdq.cpp) turns QGemm into QLinear. QLinearAdd and QLinearMul whose
// dequantize-op-quantize form rounds some pair of 8-bit values differently from ONNX Runtime's
// kernels (checked at import) are lowered to ORT's own float arithmetic on the integers
// instead, so a file gives ORT's bits. DynamicQuantizeLSTM with s8 symmetric
// weights becomes monoquant's DynamicQLSTM on the same weights; other forms an LSTM with its
// weights dequantized.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>

#include "importers/onnx/builder.h"

namespace mq::onnx {

namespace {

constexpr const char* kDomain = "com.microsoft::";

/// DequantizeLinear of x; per-channel parameters run along `axis` (ONNX's default: 1).
Value* dequantize(BuildContext& c, Value* x, Value* scale, Value* zero_point, int64_t axis = 1) {
  Attributes at;
  if (axis != 1) at.set("axis", axis);
  return c.emit_internal(OpKind::DequantizeLinear, {x, c.required_value(scale, "scale"), zero_point}, at)
      ->output(0);
}

/// Op(DQ(inputs...)) → QuantizeLinear(y_scale, y_zero_point) as this node's output.
void requantized(BuildContext& c, OpKind op, std::vector<Value*> operands, Attributes attrs, Value* ys,
                 Value* yz) {
  Value* y = c.emit_internal(op, std::move(operands), std::move(attrs))->output(0);
  c.emit(OpKind::QuantizeLinear, {y, c.required_value(ys, "y_scale"), yz}, {});
}

/// X, X_scale, X_zero_point, Y_scale, Y_zero_point: a unary op on int8 values.
void unary(BuildContext& c, OpKind op, Attributes attrs = {}) {
  Value* x = dequantize(c, c.required(0), c.input(1), c.input(2));
  requantized(c, op, {x}, std::move(attrs), c.input(3), c.input(4));
}

/// A, A_scale, A_zero_point, B, B_scale, B_zero_point, C_scale, C_zero_point.
void binary(BuildContext& c, OpKind op) {
  Value* a = dequantize(c, c.required(0), c.input(1), c.input(2));
  Value* b = dequantize(c, c.required(3), c.input(4), c.input(5));
  requantized(c, op, {a, b}, {}, c.input(6), c.input(7));
}

/// The per-tensor quantizations of a QLinearAdd / QLinearMul (constant scalar scales and
/// zero points of the operands' 8-bit type) as ONNX Runtime's kernels read them.
struct BinaryQuant {
  float sa = 0.f, sb = 0.f, sc = 0.f;
  int32_t za = 0, zb = 0, zc = 0;
  DType type = DType::u8;

  /// QLinearMul's one ratio a_scale · b_scale / c_scale, in float.
  float mul_ratio() const { return sa * sb / sc; }
  /// QLinearAdd's ratios and constant part, in float.
  float ra() const { return sa / sc; }
  float rb() const { return sb / sc; }
  float fixed() const { return float(zc) - (ra() * float(za) + rb() * float(zb)); }
};

/// False when a scale or zero point is not a constant scalar (then the node keeps the
/// DequantizeLinear / QuantizeLinear form).
bool binary_quant(const BuildContext& c, BinaryQuant& q) {
  const DType t = c.required(0)->dtype();
  if ((t != DType::u8 && t != DType::i8) || c.required(3)->dtype() != t) return false;
  q.type = t;
  float* scales[] = {&q.sa, &q.sb, &q.sc};
  int32_t* zps[] = {&q.za, &q.zb, &q.zc};
  for (size_t k = 0; k < 3; ++k) {
    const Value* s = c.input(k == 2 ? 6 : 3 * k + 1);
    const Value* z = c.input(k == 2 ? 7 : 3 * k + 2);
    if (!s || !s->is_constant() || s->constant()->numel() != 1 || s->dtype() != DType::f32) return false;
    *scales[k] = s->constant()->data<float>()[0];
    if (!(*scales[k] > 0.f) || !std::isfinite(*scales[k])) return false;
    if (z) {
      if (!z->is_constant() || z->constant()->numel() != 1 || z->dtype() != t) return false;
      *zps[k] = int32_t(z->constant()->to_int64()[0]);
    }
  }
  return true;
}

Value* binary_op(BuildContext& c, OpKind op, Value* a, Value* b) {
  return c.emit_internal(op, {a, b}, {})->output(0);
}

/// 1.5 · 2^23: v + kRound − kRound is v rounded to an integer (nearest, ties to even) for
/// |v| < 2^22, in float's own rounding.
constexpr float kRound = 12582912.f;

/// Operand `k` (0 = A, 1 = B) of a QLinearAdd / QLinearMul as the float of the integer
/// x − zero_point + offset, exactly: its DequantizeLinear (the file's scale and zero point, so the
/// compiled plan sees a chain of int8 values as one, and one operand plus constants as one
/// table), divided by the scale (within 2^-22 relative of the integer) and rounded.
Value* integer_values(BuildContext& c, size_t k, float scale, float offset = 0.f) {
  Value* v = dequantize(c, c.required(3 * k), c.input(3 * k + 1), c.input(3 * k + 2));
  v = binary_op(c, OpKind::Div, v, c.constant("scale", Tensor::scalar<float>(scale)));
  v = binary_op(c, OpKind::Add, v, c.constant("round", Tensor::scalar<float>(kRound + offset)));
  return binary_op(c, OpKind::Add, v, c.constant("unround", Tensor::scalar<float>(-kRound)));
}

/// The node's output: u (the result in output steps, c_zp included) rounded to nearest even and
/// saturated, as an int8 value with the file's c_scale and c_zero_point: r = (u + 1.5·2²³) −
/// 1.5·2²³ rounds u to an integer exactly (float's rounding, |u| < 2²²), and QuantizeLinear of
/// (r − c_zp)·c_scale gives back r − c_zp exactly (an integer times and divided by one scale is
/// within 2⁻²² relative of itself) plus c_zp, saturated. All of it fuses into one pass.
void rounded_output(BuildContext& c, Value* u, const BinaryQuant& q) {
  Value* r = binary_op(c, OpKind::Add, u, c.constant("round", Tensor::scalar<float>(kRound)));
  Value* d = binary_op(c, OpKind::Add, r, c.constant("unround", Tensor::scalar<float>(-(kRound + float(q.zc)))));
  Value* y = binary_op(c, OpKind::Mul, d, c.constant("c_scale", Tensor::scalar<float>(q.sc)));
  Value* zc = c.input(7);  // absent: 0 of the operands' type (a QuantizeLinear without one makes u8)
  if (!zc)
    zc = c.constant("c_zero_point", q.type == DType::u8 ? Tensor::scalar<uint8_t>(0) : Tensor::scalar<int8_t>(0));
  c.emit(OpKind::QuantizeLinear, {y, c.required_value(c.input(6), "C_scale"), zc}, {});
}

/// The 8-bit value ONNX Runtime's QLinearMul gives for raw operand values a, b (MLAS qlmul.cpp).
int32_t ort_mul(const BinaryQuant& q, int32_t a, int32_t b) {
  return int32_t(std::nearbyint(float((a - q.za) * (b - q.zb)) * q.mul_ratio() + float(q.zc)));
}

/// The 8-bit value ONNX Runtime's QLinearAdd gives for raw operand values a, b: two fused
/// multiply-adds (qladd_avx2.cpp); `swap` when ORT's broadcast passes A as the kernel's B.
int32_t ort_add(const BinaryQuant& q, bool swap, int32_t a, int32_t b) {
  const float t = swap ? std::fma(float(a), q.ra(), q.fixed()) : std::fma(float(b), q.rb(), q.fixed());
  return int32_t(std::nearbyint(swap ? std::fma(float(b), q.rb(), t) : std::fma(float(a), q.ra(), t)));
}

/// True when DequantizeLinear → Add / Mul → QuantizeLinear, as monoquant's kernels compute it
/// (each operand (x − zp)·scale, the float op, rne(y / c_scale) + c_zp), gives ORT's value
/// (`ort`, saturated) for every pair of 8-bit values: then that cheaper form is exact too.
/// (No fused multiply-add can contract these products: importers build without FMA.)
template <class Ort>
bool dequantized_form_exact(const BinaryQuant& q, OpKind op, Ort ort) {
  const int32_t lo = q.type == DType::u8 ? 0 : -128, hi = lo + 255;
  for (int32_t a = lo; a <= hi; ++a) {
    const float fa = float(a - q.za) * q.sa;
    for (int32_t b = lo; b <= hi; ++b) {
      const float fb = float(b - q.zb) * q.sb;
      const float y = op == OpKind::Add ? fa + fb : fa * fb;
      const int32_t mine = std::clamp(int32_t(std::nearbyint(y / q.sc)) + q.zc, lo, hi);
      if (mine != std::clamp(ort(a, b), lo, hi)) return false;
    }
  }
  return true;
}

/// QLinearMul with ONNX Runtime's arithmetic (MLAS qlmul.cpp on x86-64):
/// y = sat(rne(float((a − a_zp)(b − b_zp)) · ratio + c_zp)), ratio = a_scale · b_scale / c_scale
/// rounded to float at each step; the integer product is exact in float. Rounding the
/// dequantized product instead moves a value across a rounding boundary now and then.
void qlinear_mul(BuildContext& c) {
  BinaryQuant q;
  if (!binary_quant(c, q) ||
      dequantized_form_exact(q, OpKind::Mul, [&](int32_t a, int32_t b) { return ort_mul(q, a, b); }))
    return binary(c, OpKind::Mul);
  Value* p = binary_op(c, OpKind::Mul, integer_values(c, 0, q.sa), integer_values(c, 1, q.sb));
  Value* y = binary_op(c, OpKind::Mul, p, c.constant("ratio", Tensor::scalar<float>(q.mul_ratio())));
  y = binary_op(c, OpKind::Add, y, c.constant("c_zero_point", Tensor::scalar<float>(float(q.zc))));
  rounded_output(c, y, q);
}

/// x·r + t rounded once to float (a fused multiply-add) for x a float of an integer below 2^8 in
/// magnitude, from float operations the compiled plan fuses: r = rh + rl with rh r's leading 16
/// significant bits, so x·rh and x·rl are exact; s + e = x·rh + t exactly (Knuth's TwoSum); the
/// result is s + (e + x·rl) rounded. That equals the fused multiply-add unless x·r + t lies
/// within ~2^-47 (relative) of a float rounding tie without being one.
Value* fused_multiply_add(BuildContext& c, Value* x, float r, Value* t) {
  uint32_t bits;
  std::memcpy(&bits, &r, sizeof bits);
  bits &= 0xFFFFFF00u;
  float rh;
  std::memcpy(&rh, &bits, sizeof rh);
  const float rl = r - rh;  // exact: r's last 8 significand bits
  auto k = [&](const char* name, float v) { return c.constant(name, Tensor::scalar<float>(v)); };
  Value* p = binary_op(c, OpKind::Mul, x, k("ratio_high", rh));
  Value* q = binary_op(c, OpKind::Mul, x, k("ratio_low", rl));
  Value* s = binary_op(c, OpKind::Add, p, t);
  Value* bb = binary_op(c, OpKind::Sub, s, p);
  Value* e1 = binary_op(c, OpKind::Sub, p, binary_op(c, OpKind::Sub, s, bb));
  Value* e = binary_op(c, OpKind::Add, e1, binary_op(c, OpKind::Sub, t, bb));
  return binary_op(c, OpKind::Add, s, binary_op(c, OpKind::Add, e, q));
}

/// True when ONNX Runtime's broadcast passes `x` to its add kernel as one value per run of
/// `other`: x is one value, or x's last axis is 1 where other's is longer (static dims only).
bool scalar_runs(const Value* x, const Value* other) {
  const Shape& s = x->shape();
  const Shape& o = other->shape();
  if (!s.has_rank() || !o.has_rank()) return false;
  const bool one = std::all_of(s.dims().begin(), s.dims().end(), [](const Dim& d) { return d.value == 1; });
  const int64_t last = s.rank() ? s.dims().back().value : 1, other_last = o.rank() ? o.dims().back().value : 1;
  return last == 1 && (other_last > 1 || (one && !(o.is_static() && o.numel() == 1)));
}

/// QLinearAdd with ONNX Runtime's arithmetic (MLAS's AVX2 kernel, qladd_avx2.cpp, which x86-64
/// CPUs with AVX2 run): ratios r_a = a_scale / c_scale, r_b = b_scale / c_scale and
/// f = c_zp − (r_a·a_zp + r_b·b_zp) in float, then y = sat(rne(fma(a, r_a, fma(b, r_b, f))))
/// on the raw 8-bit values. ORT's broadcast hands the kernel a one-value A as its B (a one-value
/// B stays B): then a and b swap places in the formula.
void qlinear_add(BuildContext& c) {
  BinaryQuant q;
  if (!binary_quant(c, q)) return binary(c, OpKind::Add);
  const bool swap = scalar_runs(c.required(0), c.required(3));
  if (dequantized_form_exact(q, OpKind::Add, [&](int32_t a, int32_t b) { return ort_add(q, swap, a, b); }))
    return binary(c, OpKind::Add);
  const float ra = q.ra(), rb = q.rb();
  Value* a = integer_values(c, 0, q.sa, float(q.za));
  Value* b = integer_values(c, 1, q.sb, float(q.zb));
  Value* t =
      fused_multiply_add(c, swap ? a : b, swap ? ra : rb, c.constant("fixed", Tensor::scalar<float>(q.fixed())));
  rounded_output(c, fused_multiply_add(c, swap ? b : a, swap ? rb : ra, t), q);
}

void channels_first(const BuildContext& c) {
  if (c.attrs().get_int_or("channels_last", 0) != 0)
    fail<UnsupportedError>("attribute 'channels_last' 1 is not supported (NCHW only)");
}

/// Y_scale, Y_zero_point, then (X, X_scale, X_zero_point) per operand.
void concat(BuildContext& c) {
  if (c.num_inputs() < 5 || (c.num_inputs() - 2) % 3 != 0)
    fail<FormatError>("QLinearConcat takes Y_scale, Y_zero_point and triples (X, X_scale, X_zero_point), got ",
                      c.num_inputs(), " operands");
  std::vector<Value*> xs;
  for (size_t i = 2; i < c.num_inputs(); i += 3)
    xs.push_back(dequantize(c, c.required(i), c.input(i + 1), c.input(i + 2)));
  Attributes at;
  at.set("axis", c.attrs().get_int("axis"));
  requantized(c, OpKind::Concat, xs, at, c.input(0), c.input(1));
}

/// A, a_scale, a_zp, B, b_scale, b_zp, C (int32, scale a_scale · b_scale), y_scale?, y_zp?
void qgemm(BuildContext& c) {
  Value* a = dequantize(c, c.required(0), c.input(1), c.input(2));
  // per-channel B scales run along N: B's rows when it is transposed ([N, K]), else its columns
  const int64_t trans_b = c.attrs().get_int_or("transB", 0);
  Value* b = dequantize(c, c.required(3), c.input(4), c.input(5), trans_b ? 0 : 1);
  Attributes at;
  for (const char* k : {"alpha", "transA", "transB"})
    if (c.attrs().has(k)) at.set(k, c.attrs().all().at(k));
  at.set("beta", 1.f);
  std::vector<Value*> ops{a, b};
  if (Value* bias = c.input(6)) {
    const Value* as = c.input(1);
    const Value* bs = c.input(4);
    if (!as || !bs || !as->is_constant() || !bs->is_constant())
      fail<UnsupportedError>("QGemm with a bias needs constant a_scale and b_scale");
    const auto sa = as->constant()->to_float();
    const auto sb = bs->constant()->to_float();
    if (sa.size() != 1) fail<UnsupportedError>("QGemm: a_scale must be a scalar");
    std::vector<float> s;
    for (float v : sb) s.push_back(sa[0] * v);
    Tensor st = s.size() == 1 ? Tensor::scalar<float>(s[0]) : Tensor::from_vector<float>({int64_t(s.size())}, s);
    Attributes axis0;
    axis0.set("axis", int64_t(0));
    ops.push_back(c.emit_internal(OpKind::DequantizeLinear, {bias, c.constant("bias_scale", std::move(st))}, axis0)
                      ->output(0));
  }
  if (c.input(7)) {
    requantized(c, OpKind::Gemm, ops, at, c.input(7), c.input(8));
  } else {
    c.emit(OpKind::Gemm, ops, at);
  }
}

/// float(MatMulInteger(a, b, a_zero_point, b_zero_point)) · (a_scale · b_scale) [+ bias] as
/// this node's output: ONNX Runtime's integer arithmetic op by op, as quantize_dynamic writes it
/// (the engine's fuse_dynamic_matmul makes a dynamically quantized one a single int8 step).
void integer_matmul_to_float(BuildContext& c, Value* a, Value* a_scale, Value* a_zero_point, Value* b,
                             Value* b_scale, Value* b_zero_point, Value* bias) {
  Value* acc = c.emit_internal(OpKind::MatMulInteger, {a, b, a_zero_point, b_zero_point}, {})->output(0);
  Attributes to_float;
  to_float.set("to", int64_t(1));
  Value* f = c.emit_internal(OpKind::Cast, {acc}, to_float)->output(0);
  Value* scale = c.emit_internal(OpKind::Mul, {a_scale, b_scale}, {})->output(0);
  if (bias) {
    Value* y = c.emit_internal(OpKind::Mul, {f, scale}, {})->output(0);
    c.emit(OpKind::Add, {y, bias}, {});
  } else {
    c.emit(OpKind::Mul, {f, scale}, {});
  }
}

/// A f32, B int8, b_scale, b_zero_point?, bias?: A quantized to u8 from its own range
/// (DynamicQuantizeLinear), then the integer product scaled to float.
void dynamic_quantize_matmul(BuildContext& c) {
  Node* q = c.emit_internal(OpKind::DynamicQuantizeLinear, {c.required(0)}, {}, 3);
  integer_matmul_to_float(c, q->output(0), q->output(1), q->output(2), c.required(1),
                          c.required_value(c.input(2), "b_scale"), c.input(3), c.input(4));
}

/// A, B, a_scale, b_scale, a_zero_point?, b_zero_point?, bias?: the integer product scaled to float.
void matmul_integer_to_float(BuildContext& c) {
  integer_matmul_to_float(c, c.required(0), c.required_value(c.input(2), "a_scale"), c.input(4), c.required(1),
                          c.required_value(c.input(3), "b_scale"), c.input(5), c.input(6));
}

/// W [D, I, 4H] (or R [D, H, 4H]) int8 with per-direction or per-column scales and zero points:
/// the constant and, for each output row d·4H + g of the ONNX layout [D, 4H, I], its scale and
/// zero point.
struct LstmWeight {
  const Tensor* q = nullptr;
  int64_t D = 0, I = 0, G = 0;
  std::vector<float> scale;  // D·G
  std::vector<int64_t> zp;   // D·G
};

LstmWeight lstm_weight(const Value* w, const Value* scale, const Value* zero_point, const char* what) {
  if (!w || !w->is_constant() || !scale || !scale->is_constant() || (zero_point && !zero_point->is_constant()))
    fail<UnsupportedError>(what, ", its scale and its zero point must be constants");
  LstmWeight r;
  r.q = &*w->constant();
  const Tensor& t = *r.q;
  if (t.rank() != 3 || (t.dtype() != DType::i8 && t.dtype() != DType::u8))
    fail<ShapeError>(what, " must be an int8 [D, I, 4H] tensor, got ", dtype_name(t.dtype()), " ",
                     t.shape().str());
  r.D = t.dim(0), r.I = t.dim(1), r.G = t.dim(2);
  const auto s = scale->constant()->to_float();
  const auto z = zero_point ? zero_point->constant()->to_int64() : std::vector<int64_t>(s.size(), 0);
  const bool per_column = int64_t(s.size()) == r.D * r.G;
  if (!per_column && int64_t(s.size()) != r.D)
    fail<ShapeError>(what, " scale has ", s.size(), " values for ", r.D, " directions of ", r.G, " columns");
  if (z.size() != s.size()) fail<ShapeError>(what, " zero point has ", z.size(), " values, its scale ", s.size());
  for (int64_t d = 0; d < r.D; ++d)
    for (int64_t g = 0; g < r.G; ++g) {
      const size_t k = size_t(per_column ? d * r.G + g : d);
      r.scale.push_back(s[k]);
      r.zp.push_back(z[k]);
    }
  return r;
}

/// The weight dequantized, float [D, 4H, I] as ONNX LSTM keeps it.
Tensor dequantized(const LstmWeight& w) {
  const auto q = w.q->to_int64();
  Tensor out(DType::f32, {w.D, w.G, w.I});
  float* o = out.data<float>();
  for (int64_t d = 0; d < w.D; ++d)
    for (int64_t i = 0; i < w.I; ++i)
      for (int64_t g = 0; g < w.G; ++g) {
        const size_t row = size_t(d * w.G + g);
        o[size_t(row) * size_t(w.I) + size_t(i)] =
            float(double(q[size_t((d * w.I + i) * w.G + g)] - w.zp[row]) * double(w.scale[row]));
      }
  return out;
}

/// The weight as monoquant's int8 LSTM keeps it: s8 [D·4H, I] with one scale per row. None when
/// the file's form has no exact s8 equivalent (u8 values, non-zero zero points).
std::optional<Tensor> s8_rows(const LstmWeight& w) {
  if (w.q->dtype() != DType::i8 || std::any_of(w.zp.begin(), w.zp.end(), [](int64_t z) { return z != 0; }))
    return std::nullopt;
  Tensor out(DType::i8, {w.D * w.G, w.I});
  const int8_t* src = w.q->data<int8_t>();
  int8_t* o = out.data<int8_t>();
  for (int64_t d = 0; d < w.D; ++d)
    for (int64_t g = 0; g < w.G; ++g)
      for (int64_t i = 0; i < w.I; ++i) o[(d * w.G + g) * w.I + i] = src[(d * w.I + i) * w.G + g];
  QuantParams q;
  q.qtype = DType::i8;
  q.axis = 0;
  q.scales = w.scale;
  q.zero_points.assign(w.scale.size(), 0);
  out.set_quant(std::move(q));
  return out;
}

/// True when an LSTM with these attributes and operands has an int8 form (the int8 LSTM's
/// limits: default activations, no clip, no input_forget, no peepholes).
bool int8_lstm_attributes(const BuildContext& c) {
  const Attributes& a = c.attrs();
  if (a.has("clip") || a.get_int_or("input_forget", 0) != 0 || c.input(7)) return false;
  const auto acts = a.get_strings_or("activations", {});
  for (size_t i = 0; i < acts.size(); ++i)
    if (acts[i] != (i % 3 == 0 ? "Sigmoid" : "Tanh")) return false;
  return true;
}

/// X, W, R, B?, sequence_lens?, initial_h?, initial_c?, P?, W_scale, W_zero_point, R_scale,
/// R_zero_point: s8 symmetric weights (ORT's default) run as monoquant's DynamicQLSTM (x and h
/// quantized per call and per step, as ORT does); other forms as an LSTM over the
/// dequantized weights.
void dynamic_quantize_lstm(BuildContext& c) {
  std::vector<Value*> ops{c.required(0)};
  const LstmWeight w = lstm_weight(c.input(1), c.input(8), c.input(9), "W");
  const LstmWeight r = lstm_weight(c.input(2), c.input(10), c.input(11), "R");
  std::optional<Tensor> w8 = s8_rows(w), r8 = s8_rows(r);
  const bool int8 = w8 && r8 && int8_lstm_attributes(c);
  ops.push_back(c.constant("W", int8 ? std::move(*w8) : dequantized(w)));
  ops.push_back(c.constant("R", int8 ? std::move(*r8) : dequantized(r)));
  for (size_t i = 3; i < (int8 ? 7 : 8); ++i) ops.push_back(c.input(i));
  while (!ops.empty() && !ops.back()) ops.pop_back();
  Attributes at;
  if (int8) {
    for (const char* k : {"direction", "hidden_size", "layout"})
      if (c.attrs().has(k)) at.set(k, c.attrs().all().at(k));
  } else {
    at = c.attrs();
  }
  c.emit(int8 ? OpKind::DynamicQLSTM : OpKind::LSTM, ops, at);
}

}  // namespace

void register_microsoft_builders() {
  const std::string d = kDomain;
  register_builder(d + "QuantizeLinear", [](BuildContext& c) { build_same(c, OpKind::QuantizeLinear); });
  register_builder(d + "DequantizeLinear", [](BuildContext& c) { build_same(c, OpKind::DequantizeLinear); });
  register_builder(d + "QLinearAdd", qlinear_add);
  register_builder(d + "QLinearMul", qlinear_mul);
  register_builder(d + "QLinearSigmoid", [](BuildContext& c) { unary(c, OpKind::Sigmoid); });
  register_builder(d + "QLinearLeakyRelu", [](BuildContext& c) {
    Attributes at;
    at.set("alpha", c.attrs().get_float_or("alpha", 0.01f));
    unary(c, OpKind::LeakyRelu, at);
  });
  register_builder(d + "QLinearGlobalAveragePool", [](BuildContext& c) {
    channels_first(c);
    unary(c, OpKind::GlobalAveragePool);
  });
  register_builder(d + "QLinearAveragePool", [](BuildContext& c) {
    channels_first(c);
    Attributes at = c.attrs();
    at.erase("channels_last");
    unary(c, OpKind::AveragePool, std::move(at));
  });
  register_builder(d + "QLinearSoftmax", [](BuildContext& c) {
    // before opset 13 Softmax flattens from `axis`; both agree when axis is the last dim
    const int64_t axis = c.attrs().get_int_or("axis", -1);
    const Value* x = c.required(0);
    const bool last = axis == -1 || (x->shape().has_rank() && axis == int64_t(x->shape().rank()) - 1);
    if (c.attrs().get_int_or("opset", 13) < 13 && !last)
      fail<UnsupportedError>("QLinearSoftmax before opset 13 over a dim other than the last");
    Attributes at;
    at.set("axis", axis);
    unary(c, OpKind::Softmax, at);
  });
  register_builder(d + "QLinearConcat", concat);
  register_builder(d + "QGemm", qgemm);
  register_builder(d + "DynamicQuantizeMatMul", dynamic_quantize_matmul);
  register_builder(d + "MatMulIntegerToFloat", matmul_integer_to_float);
  register_builder(d + "DynamicQuantizeLSTM", dynamic_quantize_lstm);
}

}  // namespace mq::onnx
