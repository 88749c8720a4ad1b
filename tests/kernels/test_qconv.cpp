// qconv (active tier) against the direct-convolution reference, bit for bit.
#include <doctest/doctest.h>

#include <cstring>
#include <initializer_list>
#include <vector>

#include "kernels/qconv.h"
#include "kernels/reference/qconv_ref.h"
#include "kernel_test_util.h"

using namespace mq::kernels;
using mq::kernels::test::Aligned;

namespace {

void check_conv(const QConvShape& s, QGemmOutput out) {
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
  epi.a_zp = 131;
  epi.bias32 = bias.data();
  epi.per_channel = true;
  epi.multiplier = mult.data();
  epi.out_zp = 100;
  epi.qmin = 0;
  epi.qmax = 255;
  epi.a_scale = 0.05f;
  epi.w_scale = ws.data();
  epi.bias_f32 = bf.data();
  const std::size_t es = out == QGemmOutput::u8 ? 1 : 4;
  std::vector<std::uint8_t> y_ref(pixels * s.out_c * es), y_got(y_ref.size());
  reference::qconv(s, epi, x.data(), w.data(), y_ref.data());
  Aligned<std::uint8_t> packed(qconv_packed_size(s)), scratch(qconv_scratch_size(s) + 64);
  qconv_pack(s, w.data(), packed.data());
  const std::size_t half = pixels / 2;  // two disjoint pixel ranges
  qconv(s, epi, x.data(), packed.data(), y_got.data(), scratch.data(), 0, half);
  qconv(s, epi, x.data(), packed.data(), y_got.data(), scratch.data(), half, pixels);
  INFO("in " << s.in_h << "x" << s.in_w << "x" << s.in_c << " out_c " << s.out_c << " k "
             << s.kh << "x" << s.kw << " stride " << s.stride_h << " groups " << s.groups
             << " out " << int(out));
  CHECK(y_ref == y_got);
}

}  // namespace

TEST_CASE("qconv: general, grouped, pointwise and depthwise shapes match the reference") {
  std::vector<QConvShape> shapes;
  QConvShape s;
  s.batch = 2; s.in_h = 9; s.in_w = 7; s.in_c = 8; s.out_c = 20; s.kh = s.kw = 3;
  s.pad_t = s.pad_l = s.pad_b = s.pad_r = 1;
  shapes.push_back(s);                                   // 3×3 same padding
  QConvShape t = s; t.stride_h = 2; t.stride_w = 3; t.pad_b = 0; t.pad_r = 2; shapes.push_back(t);
  t = s; t.dil_h = 2; t.dil_w = 2; t.pad_t = t.pad_l = t.pad_b = t.pad_r = 2; shapes.push_back(t);
  t = s; t.groups = 4; t.out_c = 12; shapes.push_back(t);  // grouped
  t = s; t.kh = t.kw = 1; t.pad_t = t.pad_l = t.pad_b = t.pad_r = 0; t.out_c = 33; shapes.push_back(t);
  t = s; t.in_c = t.out_c = t.groups = 70; shapes.push_back(t);  // depthwise 3×3
  t.stride_h = t.stride_w = 2; t.pad_b = t.pad_r = 0; shapes.push_back(t);
  t = s; t.kh = 5; t.kw = 2; t.in_c = 3; t.out_c = 17; t.pad_t = 2; t.pad_b = 2; shapes.push_back(t);
  for (const QConvShape& sh : shapes)
    for (QGemmOutput o : {QGemmOutput::u8, QGemmOutput::f32, QGemmOutput::s32}) check_conv(sh, o);
}
