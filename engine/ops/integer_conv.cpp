// Executors of ONNX's ConvInteger and QLinearConv: every operand type pair and weight zero
// point runs on the qconv kernels (engine/ops/integer_operands.h); shapes qconv does not take
// run on the scalar kernel.
#include <algorithm>
#include <array>
#include <cstring>
#include <mutex>

#include "engine/ops/window_attrs.h"
#include "engine/ops/integer_operands.h"
#include "engine/thread_pool.h"
#include "kernels/fp32/conv.h"
#include "kernels/layout.h"
#include "kernels/qconv.h"
#include "kernels/qgemm.h"

namespace mq::ops {

namespace {

/// Packed weights of an integer convolution whose weight is a constant: packed on the first
/// run and kept for the Session.
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

/// A reusable 64-byte aligned buffer of this thread (one per slot) of at least `bytes`;
/// its contents are undefined. Concurrent runs on other threads use their own.
std::byte* thread_buffer(size_t slot, size_t bytes) {
  thread_local std::array<std::vector<std::byte>, 3> buffers;
  std::vector<std::byte>& b = buffers.at(slot);
  if (b.size() < bytes + 64) b.resize(bytes + 64);
  const auto addr = reinterpret_cast<std::uintptr_t>(b.data());
  return b.data() + ((64 - addr % 64) % 64);
}

/// Window sums S[g][b][pixel] = Σ (x' − x_zp') over each output pixel's window and group g's
/// channels, from the NHWC u8 input (padding holds x_zp' and adds nothing; wrapping).
std::vector<int32_t> window_sums(const kernels::IntConvParams& p, const uint8_t* xn, int32_t xzp) {
  const int64_t hw = p.h * p.w, ohw = p.oh * p.ow, cg = p.c / p.group;
  std::vector<uint32_t> plane(size_t(p.n * hw));
  std::vector<int32_t> sums(size_t(p.group * p.n * ohw));
  for (int64_t g = 0; g < p.group; ++g) {
    for (int64_t i = 0; i < p.n * hw; ++i) {
      const uint8_t* px = xn + i * p.c + g * cg;
      uint32_t s = uint32_t(-cg * int64_t(xzp));
      for (int64_t ch = 0; ch < cg; ++ch) s += px[ch];
      plane[size_t(i)] = s;
    }
    for (int64_t b = 0; b < p.n; ++b)
      for (int64_t oy = 0; oy < p.oh; ++oy)
        for (int64_t ox = 0; ox < p.ow; ++ox) {
          uint32_t s = 0;
          for (int64_t ky = 0; ky < p.kh; ++ky) {
            const int64_t iy = oy * p.stride_h - p.pad_top + ky * p.dil_h;
            if (iy < 0 || iy >= p.h) continue;
            for (int64_t kx = 0; kx < p.kw; ++kx) {
              const int64_t ix = ox * p.stride_w - p.pad_left + kx * p.dil_w;
              if (ix >= 0 && ix < p.w) s += plane[size_t(b * hw + iy * p.w + ix)];
            }
          }
          sums[size_t((g * p.n + b) * ohw + oy * p.ow + ox)] = int32_t(s);
        }
  }
  return sums;
}

/// NHWC int32 accumulators [n][ohw][m] → NCHW dst[n][m][ohw] through f(channel, b·ohw + pixel,
/// accumulator), in blocks of 16 pixels (the block's accumulators stay in L1).
template <class Out, class F>
void to_nchw(const int32_t* acc, int64_t n, int64_t ohw, int64_t m, Out* dst, F f) {
  constexpr int64_t kBlock = 16;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i0 = 0; i0 < ohw; i0 += kBlock) {
      const int64_t i1 = std::min(ohw, i0 + kBlock);
      for (int64_t ch = 0; ch < m; ++ch) {
        Out* o = dst + (b * m + ch) * ohw;
        for (int64_t i = i0; i < i1; ++i) o[i] = f(ch, b * ohw + i, acc[(b * ohw + i) * m + ch]);
      }
    }
}

/// ConvInteger / QLinearConv (2-D, any u8/s8 operand types and weight zero points) on qconv
/// (NHWC, im2col + qgemm or direct kernels; see integer_operands.h for the u8 × s8 form):
/// runs it with epilogue `epi` (s32, or u8/s8 requantization with per-channel multipliers)
/// into y (NCHW, elements of `esz` bytes). Returns false when the fast path does not apply.
bool int_conv_fast(ExecContext& c, const kernels::IntConvParams& p, size_t wi, kernels::QGemmParams epi,
                   size_t esz, void* y) {
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
  if (p.pad_top < 0 || p.pad_left < 0 || int64_t(s.out_h()) != p.oh || int64_t(s.out_w()) != p.ow) return false;
  if (p.n * p.oh * p.ow * p.m == 0 || p.c == 0) return false;
  const int64_t cg = p.c / p.group, khw = p.kh * p.kw;
  const std::vector<int32_t> d = weight_offsets(p.w_type, p.w_zp, p.w_zp_stride, size_t(p.m));

  // Weights [M][C/g][kh][kw] → [M][kh][kw][C/g] s8, packed (once for a constant weight).
  auto pack = [&](std::shared_ptr<Storage>& dst) {
    std::vector<int8_t> ohwi(size_t(p.m * cg * khw));
    const uint8_t* src = static_cast<const uint8_t*>(p.wt);
    for (int64_t o = 0; o < p.m; ++o)
      for (int64_t ci = 0; ci < cg; ++ci)
        for (int64_t k = 0; k < khw; ++k)
          ohwi[size_t((o * khw + k) * cg + ci)] = weight_s8(p.w_type, src[(o * cg + ci) * khw + k]);
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

  // NCHW → NHWC u8 input.
  const int64_t hw = p.h * p.w, ohw = p.oh * p.ow;
  const size_t x_bytes = size_t(p.n * hw * p.c);
  uint8_t* xn = reinterpret_cast<uint8_t*>(thread_buffer(0, x_bytes));
  kernels::nchw_to_nhwc_u8(static_cast<const uint8_t*>(p.x), size_t(p.n), size_t(p.c), size_t(hw), xn);
  if (p.x_type == Int8Type::s8)
    for (size_t i = 0; i < x_bytes; ++i) xn[i] = activation_u8(Int8Type::s8, xn[i]);
  const int32_t xzp = activation_zp_u8(p.x_type, p.x_zp);

  // With weight offsets the kernel writes int32 accumulators; the offset term and the
  // requested epilogue follow in the NHWC → NCHW pass.
  const kernels::QGemmParams requested = epi;
  if (!d.empty()) {
    epi.output = kernels::QGemmOutput::s32;
    epi.bias32 = nullptr;
  }
  const size_t acc_size = d.empty() ? esz : sizeof(int32_t);
  const size_t pixels = size_t(p.n * ohw);
  std::byte* yn = thread_buffer(1, pixels * size_t(p.m) * acc_size);
  const size_t scratch_per = (std::max<size_t>(64, kernels::qconv_scratch_size(s)) + 63) / 64 * 64;
  const size_t tasks = c.pool ? std::min<size_t>(c.pool->size(), std::max<size_t>(1, pixels / 64)) : 1;
  std::byte* scratch = thread_buffer(2, scratch_per * tasks);
  epi.a_zp = xzp;
  auto body = [&](size_t t) {
    const size_t p0 = pixels * t / tasks, p1 = pixels * (t + 1) / tasks;
    kernels::qconv(s, epi, xn, (*packed)->data(), yn, scratch + t * scratch_per, p0, p1);
  };
  if (tasks > 1) c.pool->parallel_for(tasks, body);
  else body(0);

  // NHWC → NCHW output (with the weight-offset term and the requested epilogue).
  if (d.empty() && esz == 1) {
    kernels::nhwc_to_nchw_u8(reinterpret_cast<const uint8_t*>(yn), size_t(p.n), size_t(p.m), size_t(ohw),
                             static_cast<uint8_t*>(y));
    return true;
  }
  const int32_t* acc = reinterpret_cast<const int32_t*>(yn);
  if (d.empty()) {
    to_nchw(acc, p.n, ohw, p.m, static_cast<int32_t*>(y), [](int64_t, int64_t, int32_t v) { return v; });
    return true;
  }
  const std::vector<int32_t> sums = window_sums(p, xn, xzp);
  const int64_t mg = p.m / p.group;
  std::vector<const int32_t*> group_sums(size_t(p.m));  // S[group of ch] per channel
  for (int64_t ch = 0; ch < p.m; ++ch) group_sums[size_t(ch)] = sums.data() + (ch / mg) * p.n * ohw;
  // d[ch] · S[group of ch][b][pixel] (wrapping); `bi` is b · ohw + pixel
  auto offset = [&](int64_t ch, int64_t bi) {
    return int32_t(uint32_t(d[size_t(ch)]) * uint32_t(group_sums[size_t(ch)][bi]));
  };
  auto requant = [&](int64_t ch, int64_t bi, int32_t v) {
    const uint32_t bias = requested.bias32 ? uint32_t(requested.bias32[ch]) : 0u;
    v = int32_t(uint32_t(v) + uint32_t(offset(ch, bi)) + bias);
    return kernels::requantize_value(v, requested.multiplier[requested.per_channel ? ch : 0], requested.out_zp,
                                     requested.qmin, requested.qmax);
  };
  switch (requested.output) {
    case kernels::QGemmOutput::s32:
      to_nchw(acc, p.n, ohw, p.m, static_cast<int32_t*>(y),
              [&](int64_t ch, int64_t bi, int32_t v) { return int32_t(uint32_t(v) + uint32_t(offset(ch, bi))); });
      return true;
    case kernels::QGemmOutput::u8:
      to_nchw(acc, p.n, ohw, p.m, static_cast<uint8_t*>(y),
              [&](int64_t ch, int64_t bi, int32_t v) { return uint8_t(requant(ch, bi, v)); });
      return true;
    case kernels::QGemmOutput::s8:
      to_nchw(acc, p.n, ohw, p.m, static_cast<int8_t*>(y),
              [&](int64_t ch, int64_t bi, int32_t v) { return int8_t(requant(ch, bi, v)); });
      return true;
    case kernels::QGemmOutput::f32: break;
  }
  fail<UnsupportedError>(c.node.describe(), ": float epilogue with weight offsets");
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
  const int64_t plane = batch * m != 0 ? y.numel() / (batch * m) : 0;
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

void register_integer_conv_exec() {
  set_executor(OpKind::QLinearConv, {qlinear_conv, prepare_int_conv});
  set_executor(OpKind::ConvInteger, {conv_integer, prepare_int_conv});
}

}  // namespace mq::ops
