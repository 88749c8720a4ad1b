// qconv on every tier the CPU has, and every depthwise variant, against the
// direct-convolution reference, bit for bit.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <initializer_list>
#include <vector>

#include "kernels/qconv.h"
#include "kernels/qgemm_internal.h"
#include "kernels/reference/qconv_ref.h"
#include "kernel_test_util.h"

using namespace mq::kernels;
using mq::kernels::test::Aligned;

namespace {

// The epilogue of check_conv beyond its output kind.
struct ConvEpi {
  std::int32_t a_zp = 131, out_zp = 100, qmin = 0, qmax = 255;
};

// qconv on every tier the CPU has; with `direct_rows`, every output row through that kernel
// itself instead (the AMX kernel without the zero-point-padded copy qconv gives it for
// images up to 1 MiB).
void check_conv(const QConvShape& s, QGemmOutput out, QConvRangeFn direct_rows = nullptr, ConvEpi ce = {}) {
  const std::size_t cg = s.in_c / s.groups, pixels = s.batch * s.out_h() * s.out_w();
  std::vector<std::uint8_t> x(s.batch * s.in_h * s.in_w * s.in_c);
  std::vector<std::int8_t> w(s.out_c * s.kh * s.kw * cg);
  test::fill_int(x.data(), x.size(), 0, 255);
  test::fill_int(w.data(), w.size(), -128, 127);
  std::vector<std::int32_t> bias(s.out_c);
  std::vector<float> mult(s.out_c), ws(s.out_c), bf(s.out_c);
  test::fill_int(bias.data(), bias.size(), -3000, 3000);
  test::fill_float(mult.data(), mult.size(), 1e-4f, 1e-3f);
  test::fill_float(ws.data(), ws.size(), 1e-3f, 1e-2f);
  test::fill_float(bf.data(), bf.size(), -1.0f, 1.0f);
  QGemmParams epi;
  epi.output = out;
  epi.a_zp = ce.a_zp;
  epi.bias32 = bias.data();
  epi.per_channel = true;
  epi.multiplier = mult.data();
  epi.out_zp = ce.out_zp;
  epi.qmin = ce.qmin;
  epi.qmax = ce.qmax;
  epi.a_scale = 0.05f;
  epi.w_scale = ws.data();
  epi.bias_f32 = bf.data();
  const std::size_t es = out == QGemmOutput::u8 || out == QGemmOutput::s8 ? 1 : 4;
  std::vector<std::uint8_t> y_ref(pixels * s.out_c * es);
  reference::qconv(s, epi, x.data(), w.data(), y_ref.data());
  Aligned<std::uint8_t> packed(qconv_packed_size(s));
  qconv_pack(s, w.data(), packed.data());
  INFO("in " << s.in_h << "x" << s.in_w << "x" << s.in_c << " out_c " << s.out_c << " k " << s.kh << "x" << s.kw
             << " stride " << s.stride_h << "x" << s.stride_w << " dil " << s.dil_h << "x" << s.dil_w << " groups "
             << s.groups << " out " << int(out) << " a_zp " << ce.a_zp << " q [" << ce.qmin << "," << ce.qmax
             << "]");
  if (direct_rows) {
    std::vector<std::uint8_t> y_got(y_ref.size());
    direct_rows(s, epi, x.data(), packed.data(), y_got.data(), 0, s.batch * s.out_h());
    CHECK(y_ref == y_got);
    return;
  }
  const std::size_t half = pixels / 2;                           // two disjoint pixel ranges
  static const std::vector<Isa> tiers = test::runnable_tiers();  // skips reported once
  for (Isa isa : tiers) {
    INFO("tier " << std::string(isa_name(isa)));
    std::vector<std::uint8_t> y_got(y_ref.size());
    Aligned<std::uint8_t> scratch(qconv_scratch_size(s, isa) + 64);
    qconv(s, epi, x.data(), packed.data(), y_got.data(), scratch.data(), 0, half, isa);
    qconv(s, epi, x.data(), packed.data(), y_got.data(), scratch.data(), half, pixels, isa);
    CHECK(y_ref == y_got);
  }
}

}  // namespace

TEST_CASE("qconv: general, grouped, pointwise and depthwise shapes match the reference") {
  std::vector<QConvShape> shapes;
  QConvShape s;
  s.batch = 2;
  s.in_h = 9;
  s.in_w = 7;
  s.in_c = 8;
  s.out_c = 20;
  s.kh = s.kw = 3;
  s.pad_t = s.pad_l = s.pad_b = s.pad_r = 1;
  shapes.push_back(s);  // 3×3 same padding
  QConvShape t = s;
  t.stride_h = 2;
  t.stride_w = 3;
  t.pad_b = 0;
  t.pad_r = 2;
  shapes.push_back(t);
  t = s;
  t.dil_h = 2;
  t.dil_w = 2;
  t.pad_t = t.pad_l = t.pad_b = t.pad_r = 2;
  shapes.push_back(t);
  t = s;
  t.groups = 4;
  t.out_c = 12;
  shapes.push_back(t);  // grouped
  t = s;
  t.kh = t.kw = 1;
  t.pad_t = t.pad_l = t.pad_b = t.pad_r = 0;
  t.out_c = 33;
  shapes.push_back(t);
  t = s;
  t.in_c = t.out_c = t.groups = 70;
  shapes.push_back(t);  // depthwise 3×3
  t.stride_h = t.stride_w = 2;
  t.pad_b = t.pad_r = 0;
  shapes.push_back(t);
  t = s;
  t.kh = 5;
  t.kw = 2;
  t.in_c = 3;
  t.out_c = 17;
  t.pad_t = 2;
  t.pad_b = 2;
  shapes.push_back(t);
  t = s;  // one input channel, 5×5 (interior windows copied a kernel row at a time), then dilated rows
  t.in_h = 13;
  t.in_w = 12;
  t.in_c = 1;
  t.out_c = 16;
  t.kh = t.kw = 5;
  t.pad_t = t.pad_l = t.pad_b = t.pad_r = 2;
  shapes.push_back(t);
  t.dil_h = 2;
  t.pad_t = t.pad_b = 4;
  shapes.push_back(t);
  for (const QConvShape& sh : shapes)
    for (QGemmOutput o : {QGemmOutput::u8, QGemmOutput::f32, QGemmOutput::s32}) check_conv(sh, o);
}

TEST_CASE("qconv: small reductions (first layers) match the reference on every tier") {
  // im2col rows padded to whole quads, interior kernel rows moved as 8/16/32/64-byte blocks
  // (exact copies where a block would read past the input), border pixels tap by tap.
  struct Case {
    std::size_t h, w, c, k_h, k_w, stride, pad, dil_h, dil_w;
  };
  const Case cases[] = {
      {11, 13, 1, 5, 5, 1, 2, 1, 1},  // super_resolution's first layer: K = 25, runs of 5 bytes
      {9, 9, 1, 5, 5, 1, 0, 1, 1},    // no padding: the last windows end at the input's last byte
      {12, 10, 3, 3, 3, 2, 1, 1, 1},  // an RGB stem, stride 2: K = 27, runs of 9
      {14, 15, 3, 6, 6, 2, 2, 1, 1},  // a 6×6 stride-2 stem: K = 108, runs of 18
      {10, 9, 7, 3, 3, 1, 0, 1, 1},   // runs of 21, in_c not a multiple of 4
      {9, 12, 5, 3, 8, 1, 1, 2, 1},   // runs of 40, dilated rows
      {8, 11, 10, 3, 7, 1, 3, 1, 1},  // runs of 70 (exact copies)
      {10, 10, 1, 3, 3, 1, 2, 2, 2},  // dilated columns (tap by tap)
      {7, 3, 2, 5, 5, 1, 2, 1, 1},    // a window wider than the image
  };
  for (const Case& c : cases)
    for (std::size_t out_c : {16, 32, 64, 80}) {
      QConvShape s;
      s.batch = 2;
      s.in_h = c.h;
      s.in_w = c.w;
      s.in_c = c.c;
      s.out_c = out_c;
      s.kh = c.k_h;
      s.kw = c.k_w;
      s.stride_h = s.stride_w = c.stride;
      s.dil_h = c.dil_h;
      s.dil_w = c.dil_w;
      s.pad_t = s.pad_l = s.pad_b = s.pad_r = c.pad;
      if (c.pad > 0) s.pad_r = c.pad - 1;  // asymmetric
      REQUIRE(s.out_h() * s.out_w() > 0);
      check_conv(s, QGemmOutput::u8);
      check_conv(s, QGemmOutput::u8, nullptr, {0, 7, 7, 255});          // u8 activations, zp 0, ReLU
      check_conv(s, QGemmOutput::s8, nullptr, {128 - 5, -3, -3, 127});  // s8 activations (zp −5, flipped), ReLU
      check_conv(s, QGemmOutput::s8, nullptr, {255, -128, -128, 127});  //
      if (out_c != 64) continue;
      check_conv(s, QGemmOutput::s32);
      check_conv(s, QGemmOutput::f32);
    }
}

TEST_CASE("qconv: few channels, a multiple of 4 (kernel rows read as one run) match the reference") {
  // The indirect VNNI kernel reads a kernel row of up to 256 bytes as one run (a window of at
  // most 576): interior pixels point into the input, border pixels' partial rows are gathered
  // with the zero point, rows above and below the image read the zero-point row. YOLOv5's
  // stem after its space-to-depth (12 channels, 3×3) and the layers after it (24, 48).
  struct Case {
    std::size_t h, w, c, k_h, k_w, stride, pad, dil_h, out_c;
  };
  const Case cases[] = {
      {9, 21, 12, 3, 3, 1, 1, 1, 24},   // the stem: runs of 36 bytes, 2 vectors (one masked)
      {10, 23, 24, 3, 3, 2, 1, 1, 48},  // stride 2, runs of 72
      {7, 19, 48, 3, 3, 1, 1, 1, 20},   // runs of 144, a window of 432
      {8, 17, 4, 5, 5, 1, 2, 1, 33},    // kh 5, runs of 20
      {9, 20, 8, 3, 3, 1, 2, 2, 16},    // dilated rows, undilated columns
      {6, 12, 16, 1, 3, 1, 1, 1, 64},   // one kernel row
      {6, 9, 64, 3, 3, 1, 1, 1, 16},    // a window of 576, runs of 192
      {5, 8, 96, 3, 3, 1, 1, 1, 16},    // runs of 288: tap by tap
  };
  for (const Case& c : cases) {
    QConvShape s;
    s.batch = 2;
    s.in_h = c.h;
    s.in_w = c.w;
    s.in_c = c.c;
    s.out_c = c.out_c;
    s.kh = c.k_h;
    s.kw = c.k_w;
    s.stride_h = s.stride_w = c.stride;
    s.dil_h = c.dil_h;
    s.pad_t = s.pad_l = s.pad_b = s.pad_r = c.pad;
    if (c.pad > 0) s.pad_b = c.pad - 1;  // asymmetric
    REQUIRE(s.out_h() * s.out_w() > 0);
    check_conv(s, QGemmOutput::u8);
    check_conv(s, QGemmOutput::s8, nullptr, {128 - 5, -3, -3, 127});
    check_conv(s, QGemmOutput::s32);
  }
}

TEST_CASE("qconv: shapes of the direct AMX path (one group, in_c a multiple of 64)") {
  // On an AMX CPU whole output rows take the direct kernel and the row cut by the split in
  // check_conv goes through im2col; elsewhere these run on im2col + qgemm.
  std::vector<QConvShape> shapes;
  QConvShape s;
  s.batch = 2;
  s.in_h = 5;
  s.in_w = 20;
  s.in_c = 64;
  s.out_c = 40;
  s.kh = s.kw = 3;
  s.pad_t = s.pad_l = s.pad_b = s.pad_r = 1;
  shapes.push_back(s);  // ow 20: tiles 0 and 4
  QConvShape t = s;
  t.in_w = 16;
  t.out_c = 32;
  shapes.push_back(t);  // one tile per row
  t = s;
  t.in_w = 37;
  t.stride_h = t.stride_w = 2;
  t.pad_b = t.pad_r = 0;
  t.out_c = 17;
  shapes.push_back(t);  // stride 2, ow 18
  t = s;
  t.in_w = 40;
  t.dil_h = t.dil_w = 2;
  t.pad_t = t.pad_l = t.pad_b = t.pad_r = 2;
  shapes.push_back(t);  // dilation 2
  t = s;
  t.in_c = 128;
  t.in_h = 6;
  t.in_w = 33;
  t.kh = t.kw = 5;
  t.pad_t = t.pad_l = 2;
  t.pad_b = t.pad_r = 2;
  t.out_c = 16;
  shapes.push_back(t);  // 5×5, 2 channel chunks
  t = s;
  t.kh = t.kw = 1;
  t.in_w = 40;
  t.stride_h = t.stride_w = 2;
  t.pad_t = t.pad_l = 0;
  t.pad_b = t.pad_r = 0;
  t.out_c = 48;
  shapes.push_back(t);  // strided 1×1
  t = s;
  t.batch = 1;
  t.in_h = 4;
  t.in_w = 50;
  t.pad_t = 0;
  t.pad_l = 2;
  t.pad_b = 1;
  t.pad_r = 0;
  t.kw = 4;
  shapes.push_back(t);  // asymmetric padding
  t = s;
  t.in_h = 7;
  t.in_w = 7;
  t.in_c = 128;
  t.out_c = 33;
  shapes.push_back(t);  // ow 7
  t = s;
  t.in_h = 3;
  t.in_w = 14;
  t.batch = 3;
  shapes.push_back(t);  // ow 14
  t = s;
  t.in_h = 2;
  t.in_w = 1;
  t.kh = t.kw = 1;
  t.pad_t = t.pad_l = 0;
  t.pad_b = t.pad_r = 1;
  shapes.push_back(t);  // ow 2, padded 1×1
  for (const QConvShape& sh : shapes)
    for (QGemmOutput o : {QGemmOutput::u8, QGemmOutput::f32, QGemmOutput::s32}) check_conv(sh, o);
  // the direct kernels' own edge gathering, without the padded copy
  for (const QConvVariant* v : test::runnable(qconv_variants())) {
    if (!v->direct_rows) continue;
    INFO(std::string(v->name));
    for (const QConvShape& sh : shapes)
      for (QGemmOutput o : {QGemmOutput::u8, QGemmOutput::s32}) check_conv(sh, o, v->direct_rows);
  }
}

namespace {

// One depthwise configuration, run on every depthwise variant the CPU supports.
struct DwCase {
  QConvShape s;
  QGemmOutput out = QGemmOutput::u8;
  bool per_channel = true, bias = true, accumulate = false;
  std::int32_t a_zp = 131, out_zp = 100, qmin = 0, qmax = 255;
  float mult_lo = 1e-4f, mult_hi = 2e-3f;
  int x_const = -1, w_const = 1000;  // constant fills (x ≥ 0, w in [-128, 127]) or random
};

const std::vector<const QConvDwVariant*>& dw_variants() {
  static const std::vector<const QConvDwVariant*> vs = test::runnable(qconv_dw_variants());
  return vs;  // skips reported once
}

std::size_t elem_bytes(QGemmOutput o) { return o == QGemmOutput::u8 || o == QGemmOutput::s8 ? 1 : 4; }

void check_dw(const DwCase& d) {
  const QConvShape& s = d.s;
  const std::size_t C = s.in_c, T = s.kh * s.kw, pixels = s.batch * s.out_h() * s.out_w();
  std::vector<std::uint8_t> x(s.batch * s.in_h * s.in_w * C);
  std::vector<std::int8_t> w(C * T);
  if (d.x_const >= 0) std::memset(x.data(), d.x_const, x.size());
  else test::fill_int(x.data(), x.size(), 0, 255);
  if (d.w_const <= 127) std::memset(w.data(), static_cast<std::int8_t>(d.w_const), w.size());
  else test::fill_int(w.data(), w.size(), -128, 127);
  std::vector<std::int32_t> bias(C);
  std::vector<float> mult(C), ws(C), bf(C);
  test::fill_int(bias.data(), bias.size(), -20000, 20000);
  test::fill_float(mult.data(), mult.size(), d.mult_lo, d.mult_hi);
  test::fill_float(ws.data(), ws.size(), 1e-3f, 1e-2f);
  test::fill_float(bf.data(), bf.size(), -1.0f, 1.0f);
  QGemmParams epi;
  epi.output = d.out;
  epi.a_zp = d.a_zp;
  epi.bias32 = d.bias ? bias.data() : nullptr;
  epi.per_channel = d.per_channel;
  epi.multiplier = mult.data();
  epi.out_zp = d.out_zp;
  epi.qmin = d.qmin;
  epi.qmax = d.qmax;
  epi.a_scale = 0.05f;
  epi.w_scale = ws.data();
  epi.bias_f32 = d.bias ? bf.data() : nullptr;
  epi.accumulate = d.accumulate;
  const std::size_t bytes = pixels * C * elem_bytes(d.out), guard = 256;
  // Same initial contents for the reference and the kernel (f32 accumulate reads them).
  std::vector<std::uint8_t> y0(bytes + guard);
  test::fill_int(y0.data(), y0.size(), 0, 255);
  if (d.out == QGemmOutput::f32) {
    std::vector<float> f((bytes + guard) / 4);
    test::fill_float(f.data(), f.size(), -2.0f, 2.0f);
    std::memcpy(y0.data(), f.data(), f.size() * 4);
  }
  std::vector<std::uint8_t> y_ref = y0;
  reference::qconv(s, epi, x.data(), w.data(), y_ref.data());
  Aligned<std::uint8_t> packed(qconv_packed_size(s));
  qconv_pack(s, w.data(), packed.data());
  // Pixel ranges: uneven splits (1 pixel, a few, the rest) as the engine's threads do.
  const std::size_t a = std::min<std::size_t>(1, pixels), b = std::min<std::size_t>(a + 6, pixels);
  const std::size_t c = std::max(b, pixels - std::min<std::size_t>(pixels, 3));
  for (const QConvDwVariant* v : dw_variants()) {
    std::vector<std::uint8_t> y = y0;
    v->fn(s, epi, x.data(), packed.data(), y.data(), 0, a);
    v->fn(s, epi, x.data(), packed.data(), y.data(), a, b);
    v->fn(s, epi, x.data(), packed.data(), y.data(), b, c);
    v->fn(s, epi, x.data(), packed.data(), y.data(), c, pixels);
    INFO(std::string(v->name) << " batch " << s.batch << " in " << s.in_h << "x" << s.in_w << " C " << C << " k "
                              << s.kh << "x" << s.kw << " stride " << s.stride_h << "x" << s.stride_w << " dil "
                              << s.dil_h << " pad " << s.pad_t << "," << s.pad_l << "," << s.pad_b << ","
                              << s.pad_r << " out " << int(d.out) << " per_channel " << d.per_channel << " bias "
                              << d.bias << " acc " << d.accumulate << " a_zp " << d.a_zp << " out_zp " << d.out_zp
                              << " q [" << d.qmin << "," << d.qmax << "]");
    std::size_t bad = 0;
    for (std::size_t i = 0; i < y.size(); ++i) bad += y[i] != y_ref[i];
    CHECK(bad == 0);
    // The output really was written: the reference changed something the kernel matched.
    CHECK(y_ref != y0);
  }
}

QConvShape dw_shape(std::size_t C, std::size_t k_h, std::size_t k_w, std::size_t pad) {
  QConvShape s;
  s.batch = 1;
  s.in_h = 9;
  s.in_w = 11;
  s.in_c = s.out_c = s.groups = C;
  s.kh = k_h;
  s.kw = k_w;
  s.pad_t = s.pad_b = k_h > 1 ? pad : 0;
  s.pad_l = s.pad_r = k_w > 1 ? pad : 0;
  return s;
}

}  // namespace

TEST_CASE("qconv depthwise: every tier matches the reference bit for bit") {
  REQUIRE(!dw_variants().empty());
  std::vector<QConvShape> shapes;
  for (std::size_t C : {1, 15, 16, 17, 64, 70, 130}) {
    QConvShape s = dw_shape(C, 3, 3, 1);
    shapes.push_back(s);  // 3×3 pad 1 stride 1
    QConvShape t = s;
    t.stride_h = t.stride_w = 2;
    shapes.push_back(t);  // stride 2
    t = s;
    t.dil_h = t.dil_w = 2;
    t.pad_t = t.pad_l = t.pad_b = t.pad_r = 2;
    shapes.push_back(t);
    shapes.push_back(dw_shape(C, 5, 5, 2));  // 5×5 pad 2
    shapes.push_back(dw_shape(C, 3, 1, 1));  // 3×1
    shapes.push_back(dw_shape(C, 1, 3, 1));  // 1×3
    t = s;
    t.batch = 2;
    t.stride_w = 2;
    t.pad_b = 0;
    t.pad_r = 2;
    shapes.push_back(t);  // batch 2, asymmetric
    t = s;
    t.pad_t = t.pad_l = t.pad_b = t.pad_r = 0;
    shapes.push_back(t);  // no padding
  }
  for (const QConvShape& s : shapes)
    for (QGemmOutput o : {QGemmOutput::u8, QGemmOutput::s8, QGemmOutput::f32, QGemmOutput::s32})
      for (bool pc : {true, false}) {
        DwCase d;
        d.s = s;
        d.out = o;
        d.per_channel = pc;
        d.bias = pc;  // per-tensor runs also cover null bias pointers
        d.accumulate = o == QGemmOutput::f32 && !pc;
        if (o == QGemmOutput::s8) d.qmin = -128, d.qmax = 127, d.out_zp = -3;
        check_dw(d);
      }
}

TEST_CASE("qconv depthwise: zero points, clamps and saturation extremes on every tier") {
  std::vector<DwCase> cases;
  for (std::size_t C : {1, 17, 64, 70, 130}) {
    for (std::int32_t zp : {0, 255}) {
      DwCase d;
      d.s = dw_shape(C, 3, 3, 1);
      d.s.batch = 2;
      d.a_zp = zp;
      d.out_zp = zp;
      cases.push_back(d);
      d.out = QGemmOutput::s32;
      cases.push_back(d);
    }
    for (int wv : {-128, 127})
      for (std::int32_t zp : {0, 255})
        for (QGemmOutput o : {QGemmOutput::u8, QGemmOutput::s8, QGemmOutput::s32, QGemmOutput::f32}) {
          DwCase d;  // x = 255 everywhere: the largest |x − a_zp|·w products
          d.s = dw_shape(C, 5, 5, 2);
          d.x_const = 255;
          d.w_const = wv;
          d.a_zp = zp;
          d.out = o;
          d.mult_lo = 0.5f, d.mult_hi = 2.0f;  // saturates the clamps (float clamp path)
          if (o == QGemmOutput::s8) d.qmin = -128, d.qmax = 127, d.out_zp = 0;
          cases.push_back(d);
          d.mult_lo = 0.9f, d.mult_hi = 0.99f;  // |scale| < 1: integer saturation path
          cases.push_back(d);
          d.out_zp = o == QGemmOutput::s8 ? -100 : 200;
          cases.push_back(d);
        }
    DwCase d;  // a ReLU6-like clamp inside the range
    d.s = dw_shape(C, 3, 3, 1);
    d.qmin = 100, d.qmax = 160;
    d.mult_lo = 1e-3f, d.mult_hi = 1e-2f;
    cases.push_back(d);
    d.out = QGemmOutput::s8, d.qmin = -20, d.qmax = 30, d.out_zp = -7;
    cases.push_back(d);
    d.out_zp = 600;  // outside saturating_clamp's out_zp range: float clamp
    d.qmin = -128, d.qmax = 127;
    cases.push_back(d);
    d.out = QGemmOutput::u8, d.out_zp = 100;
    d.qmin = -5, d.qmax = 300;  // outside the u8 range: wraps like store_one (generic fallback)
    cases.push_back(d);
    d.qmin = 0, d.qmax = 255, d.a_zp = 300;  // a_zp outside u8 (generic fallback)
    cases.push_back(d);
    d.a_zp = 7, d.s.kh = 12, d.s.kw = 11, d.s.pad_t = d.s.pad_b = 6, d.s.pad_l = d.s.pad_r = 5;
    cases.push_back(d);  // more taps than the SIMD kernels' stack arrays (generic fallback)
  }
  for (const DwCase& d : cases) check_dw(d);
}
