// Executors for the quantization ops: QuantizeLinear, DequantizeLinear,
// DynamicQuantizeLinear, ONNX's integer ops (QLinearMatMul, QLinearConv, MatMulInteger,
// ConvInteger) and monoquant's quantized layers (engine/ops/qlayers.cpp).
#include <algorithm>
#include <mutex>
#include <cmath>
#include <cstring>

#include "engine/executor.h"
#include "engine/ops/parallel.h"
#include "engine/ops/qlayers.h"
#include "engine/thread_pool.h"
#include "kernels/fp32/conv.h"
#include "kernels/int8/integer_ops.h"
#include "kernels/qconv.h"
#include "kernels/qgemm.h"
#include "kernels/quant.h"

namespace mq::ops {

namespace {

using kernels::QuantAffine;

/// Calls fn(offset, count, scale, zero_point) for each contiguous run sharing parameters.
template <class Fn>
void for_each_channel_run(const ExecContext& c, const Tensor& x, size_t scale_i, size_t zp_i, Fn fn) {
  const Tensor& s = c.in(scale_i);
  auto scales = s.to_float();
  std::vector<int64_t> zps = c.has(zp_i) ? c.in(zp_i).to_int64() : std::vector<int64_t>(scales.size(), 0);
  if (zps.size() != scales.size()) fail<ShapeError>(c.node.describe(), ": scale and zero point sizes differ");
  for (float sc : scales)
    if (!(sc > 0.f) || !std::isfinite(sc))
      fail<InvalidArgument>(c.node.describe(), ": scale must be positive and finite");
  int64_t n = x.numel();
  if (scales.size() == 1 && s.rank() <= 1) {
    fn(0, n, scales[0], int32_t(zps[0]));
    return;
  }
  int64_t axis = normalize_axis(c.attrs().get_int_or("axis", 1), int64_t(x.rank()));
  int64_t ch = x.dim(size_t(axis));
  if (int64_t(scales.size()) != ch)
    fail<ShapeError>(c.node.describe(), ": ", scales.size(), " scales for ", ch, " channels on axis ", axis);
  int64_t inner = 1, outer = 1;
  for (size_t i = size_t(axis) + 1; i < x.rank(); ++i) inner *= x.dim(i);
  for (int64_t i = 0; i < axis; ++i) outer *= x.dim(size_t(i));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < ch; ++k) fn((o * ch + k) * inner, inner, scales[k], int32_t(zps[k]));
}

void quantize_linear(ExecContext& c) {
  const Tensor& x = c.in(0);
  std::vector<float> xf;
  if (x.dtype() == DType::i32) xf = x.to_float();
  else if (x.dtype() != DType::f32) fail<UnsupportedError>(c.node.describe(), ": input must be f32 or int32");
  Tensor& y = c.out(0);
  const auto& k = kernels::quant_active();
  const float* px = x.dtype() == DType::f32 ? x.data<float>() : xf.data();
  for_each_channel_run(c, x, 1, 2, [&](int64_t off, int64_t n, float s, int32_t zp) {
    // a large run (per-tensor scale) is split over the session's threads; each element is
    // quantized by the same code whatever the split
    parallel_elements(c, n, [&](int64_t b, int64_t e) {
      if (y.dtype() == DType::u8) k.quantize_u8(px + off + b, size_t(e - b), {s, zp}, y.data<uint8_t>() + off + b);
      else k.quantize_s8(px + off + b, size_t(e - b), {s, zp}, y.data<int8_t>() + off + b);
    });
  });
}

void dequantize_linear(ExecContext& c) {
  const Tensor& x = c.in(0);
  float* py = c.out(0).data<float>();
  const auto& k = kernels::quant_active();
  for_each_channel_run(c, x, 1, 2, [&](int64_t off, int64_t n, float s, int32_t zp) {
    switch (x.dtype()) {
      case DType::u8:
        parallel_elements(c, n, [&](int64_t b, int64_t e) {
          k.dequantize_u8(x.data<uint8_t>() + off + b, size_t(e - b), {s, zp}, py + off + b);
        });
        break;
      case DType::i8:
        parallel_elements(c, n, [&](int64_t b, int64_t e) {
          k.dequantize_s8(x.data<int8_t>() + off + b, size_t(e - b), {s, zp}, py + off + b);
        });
        break;
      case DType::i32: {
        const int32_t* px = x.data<int32_t>() + off;
        for (int64_t i = 0; i < n; ++i) py[off + i] = float(int64_t(px[i]) - zp) * s;
        break;
      }
      default: fail<UnsupportedError>(c.node.describe(), ": input type ", dtype_name(x.dtype()));
    }
  });
}

void dynamic_quantize_linear(ExecContext& c) {
  const Tensor& x = c.in(0);
  const auto& k = kernels::quant_active();
  float lo = 0.f, hi = 0.f;
  size_t n = size_t(x.numel());
  if (n) k.minmax_f32(x.data<float>(), n, &lo, &hi);
  lo = std::min(lo, 0.f);
  hi = std::max(hi, 0.f);
  // ONNX's definition: scale = (max − min) / 255, zero point = saturate(round(−min / scale)).
  float scale = (hi - lo) / 255.f;
  int32_t zp = 0;
  if (scale == 0.f) {
    scale = 0.f;
  } else {
    zp = int32_t(std::nearbyint(std::clamp(-lo / scale, 0.f, 255.f)));
  }
  uint8_t* y = c.out(0).data<uint8_t>();
  if (scale == 0.f) {
    std::fill(y, y + n, uint8_t(0));
  } else {
    k.quantize_u8(x.data<float>(), n, {scale, zp}, y);
  }
  c.out(1).data<float>()[0] = scale;
  c.out(2).data<uint8_t>()[0] = uint8_t(zp);
}

// ---- ONNX integer ops -------------------------------------------------------------------

using kernels::Int8Type;

Int8Type int8_type(const ExecContext& c, const Tensor& t) {
  if (t.dtype() == DType::u8) return Int8Type::u8;
  if (t.dtype() == DType::i8) return Int8Type::s8;
  fail<UnsupportedError>(c.node.describe(), ": operand type ", dtype_name(t.dtype()));
}

/// Zero points of operand i as int32 (empty when absent).
std::vector<int32_t> zero_points(const ExecContext& c, size_t i) {
  std::vector<int32_t> z;
  if (!c.has(i)) return z;
  for (int64_t v : c.in(i).to_int64()) z.push_back(int32_t(v));
  return z;
}

std::vector<float> scales(const ExecContext& c, size_t i) {
  auto s = c.in(i).to_float();
  for (float v : s)
    if (!(v > 0.f) || !std::isfinite(v))
      fail<InvalidArgument>(c.node.describe(), ": scale must be positive and finite");
  return s;
}

/// Checks a per-tensor-or-per-index parameter's size; returns its stride (0 or 1).
size_t param_stride(const ExecContext& c, size_t count, int64_t n, const char* what) {
  if (count == 1) return 0;
  if (int64_t(count) != n)
    fail<ShapeError>(c.node.describe(), ": ", what, " has ", count, " values, expected 1 or ", n);
  return 1;
}

/// numpy matmul over u8/s8 operands: calls fn(a_offset, b_offset, y_offset, m, n, k) per
/// 2-D product (offsets in elements; A row-major [m×k], B [k×n], Y [m×n]).
template <class Fn>
void for_each_matmul(const Tensor& a, const Tensor& b, Fn fn) {
  std::vector<int64_t> ad = a.dims(), bd = b.dims();
  if (ad.size() == 1) ad.insert(ad.begin(), 1);
  if (bd.size() == 1) bd.push_back(1);
  const int64_t m = ad[ad.size() - 2], k = ad.back(), n = bd.back();
  const size_t rank = std::max(ad.size(), bd.size()) - 2;
  std::vector<int64_t> ab(rank, 1), bb(rank, 1), ob(rank, 1);
  for (size_t i = 0; i < ad.size() - 2; ++i) ab[rank - (ad.size() - 2) + i] = ad[i];
  for (size_t i = 0; i < bd.size() - 2; ++i) bb[rank - (bd.size() - 2) + i] = bd[i];
  for (size_t i = 0; i < rank; ++i) ob[i] = std::max(ab[i], bb[i]);
  std::vector<int64_t> as(rank), bs(rank);
  int64_t sa = 1, sb = 1;
  for (size_t i = rank; i-- > 0;) {
    as[i] = ab[i] == 1 ? 0 : sa;
    bs[i] = bb[i] == 1 ? 0 : sb;
    sa *= ab[i];
    sb *= bb[i];
  }
  int64_t total = 1;
  for (int64_t v : ob) total *= v;
  std::vector<int64_t> idx(rank, 0);
  for (int64_t t = 0; t < total; ++t) {
    int64_t oa = 0, obf = 0;
    for (size_t i = 0; i < rank; ++i) {
      oa += idx[i] * as[i];
      obf += idx[i] * bs[i];
    }
    fn(oa * m * k, obf * k * n, t * m * n, m, n, k);
    for (size_t i = rank; i-- > 0;) {
      if (++idx[i] < ob[i]) break;
      idx[i] = 0;
    }
  }
}

/// Packed B of MatMulInteger / QLinearMatMul when B is a constant u8×s8 operand.
struct IntMatMulState {
  std::mutex mutex;  // the lazily packed B is made and read by one run at a time
  std::shared_ptr<Storage> packed;
};

std::shared_ptr<void> prepare_int_matmul(const Node&) { return std::make_shared<IntMatMulState>(); }

/// Integer product of one 2-D slice: the u8×s8 qgemm when B's zero point is 0, else the
/// scalar kernel. `bzp` empty or all zero → no B zero point.
void int_matmul_2d(const Tensor& a, Int8Type at, int64_t ao, const std::vector<int32_t>& azp, const Tensor& b,
                   Int8Type bt, int64_t bo, const std::vector<int32_t>& bzp, int32_t* y, int64_t m, int64_t n,
                   int64_t k, std::shared_ptr<Storage>* cache, ThreadPool* pool) {
  const bool b_zero = std::all_of(bzp.begin(), bzp.end(), [](int32_t v) { return v == 0; });
  if (at == Int8Type::u8 && bt == Int8Type::s8 && b_zero && azp.size() <= 1 && (m > 1 || cache)) {
    // qgemm wants B as [N×K] s8: transpose and pack (once when B is a constant), then run
    // with an int32 epilogue.
    std::shared_ptr<Storage> local;
    std::shared_ptr<Storage>& packed = cache ? *cache : local;
    if (!packed) {
      std::vector<int8_t> wt(size_t(n * k));
      const int8_t* bp = b.data<int8_t>() + bo;
      for (int64_t kk = 0; kk < k; ++kk)
        for (int64_t j = 0; j < n; ++j) wt[size_t(j * k + kk)] = bp[kk * n + j];
      packed = Storage::allocate(std::max<size_t>(64, kernels::qgemm_packed_size(size_t(n), size_t(k))));
      kernels::qgemm_pack_b(wt.data(), size_t(k), size_t(n), size_t(k), packed->data());
    }
    kernels::QGemmParams p;
    p.m = size_t(m);
    p.n = size_t(n);
    p.k = size_t(k);
    p.a = a.data<uint8_t>() + ao;
    p.lda = size_t(k);
    p.a_zp = azp.empty() ? 0 : azp[0];
    p.packed_b = packed->data();
    p.output = kernels::QGemmOutput::s32;
    p.c = y;
    p.ldc = size_t(n);
    if (pool) kernels::qgemm_parallel(*pool, p);
    else kernels::qgemm(p);
    return;
  }
  kernels::IntMatMulParams p;
  p.m = size_t(m);
  p.n = size_t(n);
  p.k = size_t(k);
  p.a = static_cast<const uint8_t*>(a.raw()) + ao;
  p.a_type = at;
  p.lda = size_t(k);
  p.b = static_cast<const uint8_t*>(b.raw()) + bo;
  p.b_type = bt;
  p.ldb = size_t(n);
  p.a_zp = azp.empty() ? nullptr : azp.data();
  p.a_zp_stride = azp.size() > 1 ? 1 : 0;
  p.b_zp = b_zero ? nullptr : bzp.data();
  p.b_zp_stride = bzp.size() > 1 ? 1 : 0;
  p.y = y;
  p.ldy = size_t(n);
  kernels::matmul_integer(p);
}

/// Integer matmul of operands (ai, bi) with zero points (azi, bzi) into `y` (int32, the
/// output's element count). Returns rows m and columns n of each product.
std::pair<int64_t, int64_t> run_int_matmul(const ExecContext& c, size_t ai, size_t azi, size_t bi, size_t bzi,
                                           int32_t* y) {
  const Tensor& a = c.in(ai);
  const Tensor& b = c.in(bi);
  const Int8Type at = int8_type(c, a), bt = int8_type(c, b);
  const auto azp = zero_points(c, azi), bzp = zero_points(c, bzi);
  const int64_t m = a.rank() == 1 ? 1 : a.dim(a.rank() - 2);
  const int64_t n = b.rank() == 1 ? 1 : b.dim(b.rank() - 1);
  if (!azp.empty()) param_stride(c, azp.size(), m, "A's zero point");
  if (!bzp.empty()) param_stride(c, bzp.size(), n, "B's zero point");
  // A constant 2-D B is packed once per Session (sessions are not run concurrently).
  std::shared_ptr<Storage>* cache = nullptr;
  const Value* bv = c.node.input(bi);
  std::unique_lock<std::mutex> lock;
  if (c.state && bv && bv->is_constant() && b.rank() == 2) {
    lock = std::unique_lock<std::mutex>(static_cast<IntMatMulState*>(c.state)->mutex);
    cache = &static_cast<IntMatMulState*>(c.state)->packed;
  }
  if (b.rank() == 2 && a.rank() >= 2 && azp.size() <= 1) {  // one product over every row of A
    const int64_t k = b.dim(0);
    int64_t rows = 1;
    for (size_t i = 0; i + 1 < a.rank(); ++i) rows *= a.dim(i);
    if (rows && n) int_matmul_2d(a, at, 0, azp, b, bt, 0, bzp, y, rows, n, k, cache, c.pool);
    else std::fill(y, y + rows * n, 0);
    return {m, n};
  }
  for_each_matmul(a, b, [&](int64_t ao, int64_t bo, int64_t yo, int64_t mm, int64_t nn, int64_t kk) {
    int_matmul_2d(a, at, ao, azp, b, bt, bo, bzp, y + yo, mm, nn, kk, cache, c.pool);
  });
  return {m, n};
}

void matmul_integer(ExecContext& c) { run_int_matmul(c, 0, 2, 1, 3, c.out(0).data<int32_t>()); }

void qlinear_matmul(ExecContext& c) {
  Tensor& y = c.out(0);
  std::vector<int32_t> acc(size_t(y.numel()));
  auto [m, n] = run_int_matmul(c, 0, 2, 3, 5, acc.data());
  if (y.numel() == 0) return;
  const auto as = scales(c, 1), bs = scales(c, 4), ys = scales(c, 6);
  const auto yzp = zero_points(c, 7);
  param_stride(c, ys.size(), 1, "y_scale");
  param_stride(c, yzp.size(), 1, "y_zero_point");
  const size_t asd = param_stride(c, as.size(), m, "a_scale");
  const size_t bsd = param_stride(c, bs.size(), n, "b_scale");
  const Int8Type yt = int8_type(c, y);
  uint8_t* yp = static_cast<uint8_t*>(y.raw());
  const size_t rows = size_t(y.numel() / n);
  for (size_t r = 0; r < rows; ++r) {
    const float sa = as[(r % size_t(m)) * asd];
    if (!bsd) {
      kernels::requantize_i32(acc.data() + r * size_t(n), size_t(n), 0, sa * bs[0] / ys[0], yzp[0], yt,
                              yp + r * size_t(n));
      continue;
    }
    for (size_t j = 0; j < size_t(n); ++j)
      kernels::requantize_i32(acc.data() + r * size_t(n) + j, 1, 0, sa * bs[j] / ys[0], yzp[0], yt,
                              yp + (r * size_t(n) + j));
  }
}

int auto_pad_code(const std::string& s) {
  if (s == "VALID") return 1;
  if (s == "SAME_UPPER") return 2;
  if (s == "SAME_LOWER") return 3;
  return 0;
}

/// Packed weights of a u8×s8 integer convolution whose weight is a constant: packed on the
/// first run and kept for the Session (sessions are not run concurrently).
struct IntConvState {
  std::mutex mutex;  // the lazily packed weight is made and read by one run at a time
  std::shared_ptr<Storage> packed;
  int64_t packed_for_c = -1, packed_for_group = -1;
};

std::shared_ptr<void> prepare_int_conv(const Node&) { return std::make_shared<IntConvState>(); }

/// Geometry, operands and zero points of ConvInteger / QLinearConv (1-D convs as H = 1).
kernels::IntConvParams int_conv_params(const ExecContext& c, size_t xi, size_t xzi, size_t wi, size_t wzi,
                                       std::vector<int32_t>& wzp) {
  const Tensor& x = c.in(xi);
  const Tensor& w = c.in(wi);
  const Attributes& at = c.attrs();
  const bool one_d = x.rank() == 3;
  const size_t sp = one_d ? 1 : 2;
  const auto strides = at.get_ints_or("strides", std::vector<int64_t>(sp, 1));
  const auto dil = at.get_ints_or("dilations", std::vector<int64_t>(sp, 1));
  const auto pads = at.get_ints_or("pads", std::vector<int64_t>(2 * sp, 0));
  const int ap = auto_pad_code(at.get_string_or("auto_pad", "NOTSET"));
  kernels::IntConvParams p;
  p.n = x.dim(0);
  p.c = x.dim(1);
  p.h = one_d ? 1 : x.dim(2);
  p.w = x.dim(x.rank() - 1);
  p.m = w.dim(0);
  p.kh = one_d ? 1 : w.dim(2);
  p.kw = w.dim(w.rank() - 1);
  p.group = at.get_int_or("group", 1);
  p.stride_h = one_d ? 1 : strides[0];
  p.stride_w = strides[sp - 1];
  p.dil_h = one_d ? 1 : dil[0];
  p.dil_w = dil[sp - 1];
  if (!one_d) {
    auto gh = kernels::spatial_geometry(p.h, p.kh, p.stride_h, p.dil_h, pads[0], pads[2], ap, false);
    p.oh = gh.out;
    p.pad_top = gh.pad_begin;
  }
  auto gw = kernels::spatial_geometry(p.w, p.kw, p.stride_w, p.dil_w, pads[sp - 1], pads[2 * sp - 1], ap, false);
  p.ow = gw.out;
  p.pad_left = gw.pad_begin;
  const Tensor& y = c.outputs.at(0);  // the kernel writes its own geometry: it must be the output's
  if (y.rank() != x.rank() || y.dim(0) != p.n || y.dim(1) != p.m || (!one_d && y.dim(2) != p.oh) ||
      y.dim(y.rank() - 1) != p.ow)
    fail<ShapeError>(c.node.describe(), ": output ", y.shape().str(),
                     " does not match the convolution's geometry");
  p.x = x.raw();
  p.x_type = int8_type(c, x);
  const auto xzp = zero_points(c, xzi);
  if (!xzp.empty()) param_stride(c, xzp.size(), 1, "x_zero_point");
  p.x_zp = xzp.empty() ? 0 : xzp[0];
  p.wt = w.raw();
  p.w_type = int8_type(c, w);
  wzp = zero_points(c, wzi);
  if (!wzp.empty()) p.w_zp_stride = param_stride(c, wzp.size(), p.m, "w_zero_point");
  if (std::any_of(wzp.begin(), wzp.end(), [](int32_t v) { return v != 0; })) p.w_zp = wzp.data();
  return p;
}

/// u8 × s8 convolution with zero weight zero points on qconv (NHWC, im2col + qgemm): runs it
/// with epilogue `epi` (output kind and requantization) into y (NCHW, elements of `esz`
/// bytes). Returns false when the fast path does not apply.
bool int_conv_fast(ExecContext& c, const kernels::IntConvParams& p, size_t wi, kernels::QGemmParams epi,
                   size_t esz, void* y) {
  if (p.x_type != Int8Type::u8 || p.w_type != Int8Type::s8 || p.w_zp) return false;
  kernels::QConvShape s;
  s.batch = size_t(p.n);
  s.in_h = size_t(p.h);
  s.in_w = size_t(p.w);
  s.in_c = size_t(p.c);
  s.out_c = size_t(p.m);
  s.kh = size_t(p.kh);
  s.kw = size_t(p.kw);
  s.stride_h = size_t(p.stride_h);
  s.stride_w = size_t(p.stride_w);
  s.dil_h = size_t(p.dil_h);
  s.dil_w = size_t(p.dil_w);
  s.groups = size_t(p.group);
  s.pad_t = size_t(p.pad_top);
  s.pad_l = size_t(p.pad_left);
  // Trailing pads that give the same output size (the window never reads past them).
  s.pad_b = size_t(std::max<int64_t>(0, (p.oh - 1) * p.stride_h + p.dil_h * (p.kh - 1) + 1 - p.h - p.pad_top));
  s.pad_r = size_t(std::max<int64_t>(0, (p.ow - 1) * p.stride_w + p.dil_w * (p.kw - 1) + 1 - p.w - p.pad_left));
  if (int64_t(s.out_h()) != p.oh || int64_t(s.out_w()) != p.ow) return false;
  const int64_t cg = p.c / p.group, khw = p.kh * p.kw;

  // Weights [M][C/g][kh][kw] → [M][kh][kw][C/g], packed (once for a constant weight).
  auto pack = [&](std::shared_ptr<Storage>& dst) {
    std::vector<int8_t> ohwi(size_t(p.m * cg * khw));
    const int8_t* src = static_cast<const int8_t*>(p.wt);
    for (int64_t o = 0; o < p.m; ++o)
      for (int64_t ci = 0; ci < cg; ++ci)
        for (int64_t k = 0; k < khw; ++k) ohwi[size_t((o * khw + k) * cg + ci)] = src[(o * cg + ci) * khw + k];
    dst = Storage::allocate(kernels::qconv_packed_size(s));
    kernels::qconv_pack(s, ohwi.data(), dst->data());
  };
  std::shared_ptr<Storage> local;
  std::shared_ptr<Storage>* packed = &local;
  std::unique_lock<std::mutex> lock;
  const Value* wv = c.node.input(wi);
  if (c.state && wv && wv->is_constant()) {
    auto& st = *static_cast<IntConvState*>(c.state);
    lock = std::unique_lock<std::mutex>(st.mutex);
    if (!st.packed || st.packed_for_c != p.c || st.packed_for_group != p.group) {
      pack(st.packed);
      st.packed_for_c = p.c;
      st.packed_for_group = p.group;
    }
    packed = &st.packed;
  } else {
    pack(local);
  }

  // NCHW → NHWC input.
  const int64_t hw = p.h * p.w, ohw = p.oh * p.ow;
  std::vector<uint8_t> xn(size_t(p.n * hw * p.c));
  const uint8_t* xs = static_cast<const uint8_t*>(p.x);
  for (int64_t b = 0; b < p.n; ++b)
    for (int64_t ch = 0; ch < p.c; ++ch)
      for (int64_t i = 0; i < hw; ++i) xn[size_t((b * hw + i) * p.c + ch)] = xs[(b * p.c + ch) * hw + i];

  const size_t pixels = size_t(p.n * ohw);
  auto yn = Storage::allocate(std::max<size_t>(1, pixels * size_t(p.m) * esz));
  const size_t scratch_per = (std::max<size_t>(64, kernels::qconv_scratch_size(s)) + 63) / 64 * 64;
  const size_t tasks = c.pool ? std::min<size_t>(c.pool->size(), std::max<size_t>(1, pixels / 64)) : 1;
  auto scratch = Storage::allocate(scratch_per * tasks);
  epi.a_zp = p.x_zp;
  auto body = [&](size_t t) {
    const size_t p0 = pixels * t / tasks, p1 = pixels * (t + 1) / tasks;
    kernels::qconv(s, epi, xn.data(), (*packed)->data(), yn->data(), scratch->data() + t * scratch_per, p0, p1);
  };
  if (tasks > 1) c.pool->parallel_for(tasks, body);
  else body(0);

  // NHWC → NCHW output.
  const std::byte* src = yn->data();
  std::byte* dst = static_cast<std::byte*>(y);
  for (int64_t b = 0; b < p.n; ++b)
    for (int64_t i = 0; i < ohw; ++i)
      for (int64_t ch = 0; ch < p.m; ++ch)
        std::memcpy(dst + size_t((b * p.m + ch) * ohw + i) * esz, src + size_t((b * ohw + i) * p.m + ch) * esz,
                    esz);
  return true;
}

void conv_integer(ExecContext& c) {
  std::vector<int32_t> wzp;
  kernels::IntConvParams p = int_conv_params(c, 0, 2, 1, 3, wzp);
  int32_t* y = c.out(0).data<int32_t>();
  kernels::QGemmParams epi;
  epi.output = kernels::QGemmOutput::s32;
  if (int_conv_fast(c, p, 1, epi, sizeof(int32_t), y)) return;
  p.y = y;
  kernels::conv_integer(p);
}

void qlinear_conv(ExecContext& c) {
  Tensor& y = c.out(0);
  std::vector<int32_t> wzp;
  kernels::IntConvParams p = int_conv_params(c, 0, 2, 3, 5, wzp);
  const int64_t batch = y.dim(0), m = y.dim(1);
  const int64_t plane = batch * m ? y.numel() / (batch * m) : 0;
  const auto xs = scales(c, 1), ws = scales(c, 4), ys = scales(c, 6);
  const auto yzp = zero_points(c, 7);
  param_stride(c, xs.size(), 1, "x_scale");
  param_stride(c, ys.size(), 1, "y_scale");
  param_stride(c, yzp.size(), 1, "y_zero_point");
  const size_t wsd = param_stride(c, ws.size(), m, "w_scale");
  std::vector<int32_t> bias;
  if (c.has(8)) {
    const Tensor& b = c.in(8);
    if (b.numel() != m)
      fail<ShapeError>(c.node.describe(), ": bias has ", b.numel(), " values for ", m, " channels");
    bias.assign(b.data<int32_t>(), b.data<int32_t>() + m);
  }
  std::vector<float> mult(static_cast<size_t>(m));
  for (int64_t oc = 0; oc < m; ++oc) mult[size_t(oc)] = xs[0] * ws[size_t(oc) * wsd] / ys[0];
  const Int8Type yt = int8_type(c, y);
  uint8_t* yp = static_cast<uint8_t*>(y.raw());

  kernels::QGemmParams epi;
  epi.output = yt == Int8Type::u8 ? kernels::QGemmOutput::u8 : kernels::QGemmOutput::s8;
  epi.bias32 = bias.empty() ? nullptr : bias.data();
  epi.per_channel = true;
  epi.multiplier = mult.data();
  epi.out_zp = yzp[0];
  epi.qmin = yt == Int8Type::u8 ? 0 : -128;
  epi.qmax = yt == Int8Type::u8 ? 255 : 127;
  if (int_conv_fast(c, p, 3, epi, 1, yp)) return;

  std::vector<int32_t> acc(size_t(y.numel()));
  p.y = acc.data();
  kernels::conv_integer(p);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t oc = 0; oc < m; ++oc) {
      const size_t off = size_t((b * m + oc) * plane);
      kernels::requantize_i32(acc.data() + off, size_t(plane), bias.empty() ? 0 : bias[size_t(oc)],
                              mult[size_t(oc)], yzp[0], yt, yp + off);
    }
}

}  // namespace

void register_quantized_exec() {
  set_executor(OpKind::QuantizeLinear, {quantize_linear, nullptr});
  set_executor(OpKind::DequantizeLinear, {dequantize_linear, nullptr});
  set_executor(OpKind::DynamicQuantizeLinear, {dynamic_quantize_linear, nullptr});
  set_executor(OpKind::QLinearMatMul, {qlinear_matmul, prepare_int_matmul});
  set_executor(OpKind::MatMulInteger, {matmul_integer, prepare_int_matmul});
  set_executor(OpKind::QLinearConv, {qlinear_conv, prepare_int_conv});
  set_executor(OpKind::ConvInteger, {conv_integer, prepare_int_conv});
  register_qlayer_exec();
}

}  // namespace mq::ops
