#include "engine/ops/qlayers.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/executor.h"
#include "engine/ops/call_scratch.h"
#include "engine/ops/window_attrs.h"
#include "engine/thread_pool.h"
#include "kernels/fp32/conv.h"
#include "kernels/int8/lookup.h"
#include "kernels/layout.h"
#include "kernels/qconv.h"
#include "kernels/qgemm.h"
#include "kernels/quant.h"

namespace mq::ops {

namespace {

using namespace mq::kernels;

/// A 64-byte aligned packed buffer.
struct Buffer {
  std::shared_ptr<Storage> s;
  void reserve(size_t bytes) {
    if (!s || s->size() < bytes) s = Storage::allocate(bytes);
  }
  void* data() const { return s ? s->data() : nullptr; }
};

const Tensor& constant_operand(const Node& n, size_t i, const char* what) {
  Value* v = n.input(i);
  if (!v || !v->is_constant()) fail<InvalidArgument>(n.describe(), ": ", what, " must be a constant");
  return *v->constant();
}

QuantParams quant_of(const Node& n, size_t i, const char* what) {
  Value* v = n.input(i);
  if (v && v->is_constant() && v->constant()->quant()) return *v->constant()->quant();
  if (v && v->type().quant) return *v->type().quant;
  fail<InvalidArgument>(n.describe(), ": ", what, " has no quantization parameters");
}

/// Per output channel weight scales (broadcast a per-tensor scale), checking zero points are 0.
std::vector<float> weight_scales(const Node& n, size_t i, size_t channels) {
  QuantParams q = quant_of(n, i, "the weight");
  for (auto zp : q.zero_points)
    if (zp != 0) fail<UnsupportedError>(n.describe(), ": weights must be symmetric (zero point 0)");
  if (q.scales.size() == 1) return std::vector<float>(channels, q.scales[0]);
  if (q.scales.size() != channels)
    fail<ShapeError>(n.describe(), ": ", q.scales.size(), " weight scales for ", channels, " channels");
  return q.scales;
}

/// What QLinear and QConv2d share: requantization of the output.
struct Requant {
  std::vector<int32_t> bias32;
  std::vector<float> multiplier;
  int32_t a_zp = 0, out_zp = 0, qmin = 0, qmax = 255;
  bool out_s8 = false;
};

Requant make_requant(const Node& n, size_t channels) {
  Requant r;
  QuantParams xq = quant_of(n, 0, "the input");
  if (xq.scales.size() != 1) fail<UnsupportedError>(n.describe(), ": the input must be quantized per tensor");
  auto ws = weight_scales(n, 1, channels);
  float ys = constant_operand(n, 3, "y_scale").to_float().at(0);
  const Tensor& yzp = constant_operand(n, 4, "y_zero_point");
  r.out_zp = int32_t(yzp.to_int64().at(0));
  if (n.attrs().has("output_table")) {  // a plan's QConv2d: requantized to these, then the table
    ys = n.attrs().get_float_or("requant_scale", 0.f);
    r.out_zp = int32_t(n.attrs().get_int_or("requant_zero_point", 0));
    if (!(ys > 0.f) || !std::isfinite(ys))
      fail<InvalidArgument>(n.describe(), ": attribute 'requant_scale' ", ys, " is not a scale");
  }
  r.out_s8 = yzp.dtype() == DType::i8;
  r.qmin = r.out_s8 ? -128 : 0;
  r.qmax = r.out_s8 ? 127 : 255;
  r.a_zp = xq.zero_points.at(0);
  r.multiplier.resize(channels);
  for (size_t c = 0; c < channels; ++c) r.multiplier[c] = xq.scales[0] * ws[c] / ys;
  if (n.input(2)) {
    auto b = constant_operand(n, 2, "the bias").to_int64();
    if (b.size() != channels)
      fail<ShapeError>(n.describe(), ": bias has ", b.size(), " values for ", channels, " channels");
    r.bias32.assign(b.begin(), b.end());
  }
  std::string act = n.attrs().get_string_or("activation", "");
  auto q = [&](float v) {  // a clip bound in quantized units, saturated (bounds may be ±inf)
    if (std::isnan(v)) fail<ShapeError>(n.describe(), ": fused clip bound is NaN");
    return int32_t(std::clamp(std::nearbyint(double(v) / ys), -1e9, 1e9)) + r.out_zp;
  };
  if (act == "relu") {
    r.qmin = std::max(r.qmin, r.out_zp);
  } else if (act == "clip") {
    r.qmin = std::max(r.qmin, q(n.attrs().get_float_or("clip_min", -INFINITY)));
    r.qmax = std::min(r.qmax, q(n.attrs().get_float_or("clip_max", INFINITY)));
  } else if (!act.empty()) {
    fail<UnsupportedError>(n.describe(), ": fused activation '", act, "'");
  }
  return r;
}

void fill_epilogue(QGemmParams& p, const Requant& r) {
  p.output = r.out_s8 ? QGemmOutput::s8 : QGemmOutput::u8;
  p.a_zp = r.a_zp;
  p.bias32 = r.bias32.empty() ? nullptr : r.bias32.data();
  p.per_channel = true;
  p.multiplier = r.multiplier.data();
  p.out_zp = r.out_zp;
  p.qmin = r.qmin;
  p.qmax = r.qmax;
}

template <class Pool>
void run_gemm(Pool* pool, const QGemmParams& p) {
  if (pool) qgemm_parallel(*pool, p);
  else qgemm(p);
}

// ---------------------------------------------------------------- QLinear / DynamicQLinear
// Immutable once prepared: concurrent runs share it; their scratch is their thread's.
struct LinearState {
  size_t n = 0, k = 0;
  Buffer packed;
  Requant rq;                  // QLinear
  std::vector<float> w_scale;  // DynamicQLinear
  std::vector<float> bias_f32;
  QuantAffine x_static;  // DynamicQLinear reading an int8 input: its scale and zero point
};

std::shared_ptr<void> prepare_linear_common(const Node& n, bool dynamic) {
  auto st = std::make_shared<LinearState>();
  const Tensor& w = constant_operand(n, 1, "the weight");
  if (w.dtype() != DType::i8 || w.rank() != 2)
    fail<UnsupportedError>(n.describe(), ": weight must be i8 [out, in]");
  st->n = size_t(w.dim(0));
  st->k = size_t(w.dim(1));
  st->packed.reserve(qgemm_packed_size(st->n, st->k));
  qgemm_pack_b(w.data<int8_t>(), st->k, st->n, st->k, st->packed.data());
  if (dynamic) {
    st->w_scale = weight_scales(n, 1, st->n);
    if (n.input(2)) st->bias_f32 = constant_operand(n, 2, "the bias").to_float();
    if (n.input(0) && n.input(0)->dtype() != DType::f32) {
      QuantParams xq = quant_of(n, 0, "the input");
      if (xq.scales.size() != 1) fail<UnsupportedError>(n.describe(), ": the input must be quantized per tensor");
      st->x_static.scale = xq.scales[0];
      st->x_static.zero_point = xq.zero_points.at(0);
    }
  } else {
    st->rq = make_requant(n, st->n);
  }
  return st;
}

// The GEMM reads rows of k and writes rows of n: the input's last dim and the output's size
// must be exactly what the packed weight says.
void check_linear_shapes(ExecContext& c, const LinearState& st) {
  const Tensor& x = c.in(0);
  const Tensor& y = c.out(0);
  if (x.rank() < 1 || size_t(x.dim(x.rank() - 1)) != st.k)
    fail<ShapeError>(c.node.describe(), ": input ", x.shape().str(), " does not have the weight's ", st.k,
                     " input features");
  if (size_t(y.numel()) != size_t(x.numel()) / st.k * st.n)
    fail<ShapeError>(c.node.describe(), ": output ", y.shape().str(), " does not hold the GEMM's result");
}

/// s8 activations run on the u8 kernels: x + 128 (the sign bit flipped) with the zero point
/// + 128 represents the same reals, and the integer arithmetic gives the same results.
void flip_sign_bits(const uint8_t* x, size_t n, uint8_t* y) {
  for (size_t i = 0; i < n; ++i) y[i] = uint8_t(x[i] ^ 0x80);
}

void run_qlinear(ExecContext& c) {
  const auto& st = *static_cast<const LinearState*>(c.state);
  const Tensor& x = c.in(0);
  if (x.dtype() != DType::u8 && x.dtype() != DType::i8)
    fail<UnsupportedError>(c.node.describe(), ": input must be u8 or i8");
  check_linear_shapes(c, st);
  QGemmParams p;
  p.m = size_t(x.numel()) / st.k;
  p.n = st.n;
  p.k = st.k;
  const uint8_t* a = static_cast<const uint8_t*>(x.raw());
  if (x.dtype() == DType::i8) {
    auto* flipped = reinterpret_cast<uint8_t*>(call_scratch(0, size_t(x.numel())));
    flip_sign_bits(a, size_t(x.numel()), flipped);
    a = flipped;
  }
  p.a = a;
  p.lda = st.k;
  p.packed_b = st.packed.data();
  p.c = c.out(0).raw();
  p.ldc = st.n;
  fill_epilogue(p, st.rq);
  if (x.dtype() == DType::i8) p.a_zp += 128;
  if (p.m) run_gemm(c.pool, p);
}

void run_dynamic_qlinear(ExecContext& c) {
  const auto& st = *static_cast<const LinearState*>(c.state);
  const Tensor& x = c.in(0);
  check_linear_shapes(c, st);
  size_t total = size_t(x.numel());
  QuantAffine q;
  const uint8_t* xq = nullptr;
  if (x.dtype() == DType::f32) {  // quantized per call from its own range
    const auto& qk = quant_active();
    float lo = 0.f, hi = 0.f;
    if (total) qk.minmax_f32(x.data<float>(), total, &lo, &hi);
    q = choose_u8_params(lo, hi);
    auto* buf = reinterpret_cast<uint8_t*>(call_scratch(0, total + 64));
    qk.quantize_u8(x.data<float>(), total, q, buf);
    xq = buf;
  } else if (x.dtype() == DType::u8) {  // a static int8 input (prepared with its parameters)
    q = st.x_static;
    xq = static_cast<const uint8_t*>(x.raw());
  } else if (x.dtype() == DType::i8) {
    auto* flipped = reinterpret_cast<uint8_t*>(call_scratch(0, total));
    flip_sign_bits(static_cast<const uint8_t*>(x.raw()), total, flipped);
    q = st.x_static;
    q.zero_point += 128;
    xq = flipped;
  } else {
    fail<UnsupportedError>(c.node.describe(), ": input must be f32, u8 or i8");
  }
  QGemmParams p;
  p.m = total / st.k;
  p.n = st.n;
  p.k = st.k;
  p.a = xq;
  p.lda = st.k;
  p.a_zp = q.zero_point;
  p.packed_b = st.packed.data();
  p.output = QGemmOutput::f32;
  p.c = c.out(0).raw();
  p.ldc = st.n;
  p.per_channel = true;
  p.a_scale = q.scale;
  p.w_scale = st.w_scale.data();
  p.bias_f32 = st.bias_f32.empty() ? nullptr : st.bias_f32.data();
  if (p.m) run_gemm(c.pool, p);
}

// ---------------------------------------------------------------- QConv2d
// Immutable once prepared (weights packed, attributes read): concurrent runs share it; their
// scratch is their thread's.
struct ConvState {
  int64_t m = 0, cin_g = 0, kh = 0, kw = 0;
  QConvShape shape;      // weight, group, strides and dilations; batch, spatial dims and pads per run
  int64_t pads[4] = {};  // as given (auto_pad NOTSET)
  int auto_pad = 0;      // window_attrs.h's code
  bool nhwc = false;     // a compiled plan's layout: no transposes here
  Buffer packed;
  Requant rq;
  std::vector<uint8_t> table;  // 256 bytes applied to the requantized output (or none)
};

std::shared_ptr<void> prepare_qconv(const Node& n) {
  auto st = std::make_shared<ConvState>();
  const Tensor& w = constant_operand(n, 1, "the weight");
  if (w.dtype() != DType::i8 || w.rank() != 4)
    fail<UnsupportedError>(n.describe(), ": weight must be i8 [M, C/g, kh, kw]");
  st->m = w.dim(0);
  st->cin_g = w.dim(1);
  st->kh = w.dim(2);
  st->kw = w.dim(3);
  const Attributes& a = n.attrs();
  const auto strides = a.get_ints_or("strides", {1, 1});
  const auto dilations = a.get_ints_or("dilations", {1, 1});
  const auto pads = a.get_ints_or("pads", {0, 0, 0, 0});
  const int64_t groups = a.get_int_or("group", 1);
  st->nhwc = a.get_string_or("layout", "NCHW") == "NHWC";
  st->auto_pad = auto_pad_code(a.get_string_or("auto_pad", "NOTSET"));
  if (pads.size() != 4) fail<UnsupportedError>(n.describe(), ": pads must have 4 values");
  if (strides.size() != 2 || dilations.size() != 2 || groups < 1 || st->m % groups != 0)
    fail<UnsupportedError>(n.describe(), ": strides and dilations need 2 values and group must divide the ", st->m,
                           " output channels");
  std::copy(pads.begin(), pads.end(), st->pads);
  std::vector<int8_t> w_ohwi(size_t(w.numel()));
  const int8_t* src = w.data<int8_t>();
  for (int64_t o = 0; o < st->m; ++o)
    for (int64_t ci = 0; ci < st->cin_g; ++ci)
      for (int64_t y = 0; y < st->kh; ++y)
        for (int64_t x = 0; x < st->kw; ++x)
          w_ohwi[size_t(((o * st->kh + y) * st->kw + x) * st->cin_g + ci)] =
              src[((o * st->cin_g + ci) * st->kh + y) * st->kw + x];
  // packing depends only on the weight and the group layout
  QConvShape& s = st->shape;
  s.in_c = size_t(st->cin_g * groups);
  s.out_c = size_t(st->m);
  s.kh = size_t(st->kh);
  s.kw = size_t(st->kw);
  s.groups = size_t(groups);
  s.stride_h = size_t(strides[0]);
  s.stride_w = size_t(strides[1]);
  s.dil_h = size_t(dilations[0]);
  s.dil_w = size_t(dilations[1]);
  st->packed.reserve(qconv_packed_size(s));
  qconv_pack(s, w_ohwi.data(), st->packed.data());
  st->rq = make_requant(n, size_t(st->m));
  if (a.has("output_table")) {
    const auto t = a.get_ints_or("output_table", {});
    if (t.size() != 256 || std::any_of(t.begin(), t.end(), [](int64_t v) { return v < 0 || v > 255; }))
      fail<InvalidArgument>(n.describe(), ": attribute 'output_table' must hold 256 bytes");
    st->table.assign(t.begin(), t.end());
  }
  return st;
}

void run_qconv(ExecContext& c) {
  const auto& st = *static_cast<const ConvState*>(c.state);
  const Tensor& x = c.in(0);
  if ((x.dtype() != DType::u8 && x.dtype() != DType::i8) || x.rank() != 4)
    fail<UnsupportedError>(c.node.describe(), ": input must be u8 or i8 NCHW");
  const bool nhwc = st.nhwc;
  int64_t N = x.dim(0), C = x.dim(nhwc ? 3 : 1), H = x.dim(nhwc ? 1 : 2), W = x.dim(nhwc ? 2 : 3);
  if (size_t(C) != st.shape.in_c)
    fail<ShapeError>(c.node.describe(), ": input has ", C, " channels, weight expects ", st.shape.in_c);
  QConvShape s = st.shape;
  s.batch = size_t(N);
  s.in_h = size_t(H);
  s.in_w = size_t(W);
  const kernels::SpatialGeometry gh = kernels::spatial_geometry(H, st.kh, int64_t(s.stride_h), int64_t(s.dil_h),
                                                                st.pads[0], st.pads[2], st.auto_pad, false);
  const kernels::SpatialGeometry gw = kernels::spatial_geometry(W, st.kw, int64_t(s.stride_w), int64_t(s.dil_w),
                                                                st.pads[1], st.pads[3], st.auto_pad, false);
  s.pad_t = size_t(gh.pad_begin);
  s.pad_l = size_t(gw.pad_begin);
  s.pad_b = size_t(gh.pad_end);
  s.pad_r = size_t(gw.pad_end);
  size_t oh = s.out_h(), ow = s.out_w();
  const Tensor& y = c.out(0);
  const int64_t yd_[4] = {N, nhwc ? int64_t(oh) : st.m, nhwc ? int64_t(ow) : int64_t(oh),
                          nhwc ? st.m : int64_t(ow)};
  if (y.rank() != 4 || y.dim(0) != yd_[0] || y.dim(1) != yd_[1] || y.dim(2) != yd_[2] || y.dim(3) != yd_[3])
    fail<ShapeError>(c.node.describe(), ": output ", y.shape().str(), " does not match the convolution's [",
                     yd_[0], ",", yd_[1], ",", yd_[2], ",", yd_[3], "]");
  // NCHW → NHWC (or the NHWC input itself; s8 data with its sign bits flipped)
  const uint8_t* xs = static_cast<const uint8_t*>(x.raw());
  const uint8_t* xn = xs;
  if (!nhwc || x.dtype() == DType::i8) {
    auto* buf = reinterpret_cast<uint8_t*>(call_scratch(0, size_t(N * H * W * C)));
    if (nhwc) {
      flip_sign_bits(xs, size_t(N * H * W * C), buf);  // i8 here
    } else {
      kernels::nchw_to_nhwc_u8(xs, size_t(N), size_t(C), size_t(H * W), buf);
      if (x.dtype() == DType::i8) flip_sign_bits(buf, size_t(N * H * W * C), buf);
    }
    xn = buf;
  }
  size_t pixels = size_t(N) * oh * ow;
  size_t out_bytes = pixels * size_t(st.m);
  void* y_out = nhwc ? c.out(0).raw() : call_scratch(1, out_bytes);
  QGemmParams epi;
  fill_epilogue(epi, st.rq);
  if (x.dtype() == DType::i8) epi.a_zp += 128;
  size_t scratch_per = qconv_scratch_size(s);
  size_t tasks = c.pool ? std::min<size_t>(c.pool->size(), std::max<size_t>(1, pixels / 64)) : 1;
  std::byte* scratch = call_scratch(2, std::max<size_t>(64, scratch_per) * tasks + 64 * tasks);
  size_t stride_bytes = (std::max<size_t>(64, scratch_per) + 63) / 64 * 64;
  // With a table: blocks of whole output rows (~32 KiB of output) looked up while in cache.
  const size_t block =
      st.table.empty() ? pixels : ow * std::max<size_t>(1, 32768 / std::max<size_t>(1, ow * st.shape.out_c));
  auto body = [&](size_t t) {
    size_t p0 = pixels * t / tasks, p1 = pixels * (t + 1) / tasks;
    for (size_t q0 = p0; q0 < p1; q0 += block) {
      const size_t q1 = std::min(p1, q0 + block);
      qconv(s, epi, xn, st.packed.data(), y_out, scratch + t * stride_bytes, q0, q1);
      if (!st.table.empty()) {
        uint8_t* yb = static_cast<uint8_t*>(y_out) + q0 * st.shape.out_c;
        lookup_u8(yb, yb, int64_t((q1 - q0) * st.shape.out_c), st.table.data());
      }
    }
  };
  if (tasks > 1) c.pool->parallel_for(tasks, body);
  else body(0);
  if (nhwc) return;
  // NHWC → NCHW
  auto* yn = static_cast<const uint8_t*>(y_out);
  auto* yd = static_cast<uint8_t*>(c.out(0).raw());
  kernels::nhwc_to_nchw_u8(yn, size_t(N), size_t(st.m), oh * ow, yd);
}

}  // namespace

void register_qlstm_exec();  // qlstm.cpp

void register_qlayer_exec() {
  set_executor(OpKind::QLinear, {run_qlinear, [](const Node& n) { return prepare_linear_common(n, false); }});
  set_executor(OpKind::DynamicQLinear,
               {run_dynamic_qlinear, [](const Node& n) { return prepare_linear_common(n, true); }});
  set_executor(OpKind::QConv2d, {run_qconv, prepare_qconv});
  register_qlstm_exec();
}

}  // namespace mq::ops
