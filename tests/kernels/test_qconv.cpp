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

TEST_CASE("qconv: shapes of the direct AMX path (in_c a multiple of 64, rows ≥ 16 pixels)") {
  // On an AMX CPU whole output rows take the direct kernel and the row cut by the split in
  // check_conv goes through im2col; elsewhere these run on im2col + qgemm.
  std::vector<QConvShape> shapes;
  QConvShape s;
  s.batch = 2; s.in_h = 5; s.in_w = 20; s.in_c = 64; s.out_c = 40; s.kh = s.kw = 3;
  s.pad_t = s.pad_l = s.pad_b = s.pad_r = 1;
  shapes.push_back(s);                                             // ow 20: tiles 0 and 4
  QConvShape t = s; t.in_w = 16; t.out_c = 32; shapes.push_back(t);  // one tile per row
  t = s; t.in_w = 37; t.stride_h = t.stride_w = 2; t.pad_b = t.pad_r = 0; t.out_c = 17;
  shapes.push_back(t);                                             // stride 2, ow 18
  t = s; t.in_w = 40; t.dil_h = t.dil_w = 2; t.pad_t = t.pad_l = t.pad_b = t.pad_r = 2;
  shapes.push_back(t);                                             // dilation 2
  t = s; t.in_c = 128; t.in_h = 6; t.in_w = 33; t.kh = t.kw = 5; t.pad_t = t.pad_l = 2;
  t.pad_b = t.pad_r = 2; t.out_c = 16; shapes.push_back(t);        // 5×5, 2 channel chunks
  t = s; t.kh = t.kw = 1; t.in_w = 40; t.stride_h = t.stride_w = 2; t.pad_t = t.pad_l = 0;
  t.pad_b = t.pad_r = 0; t.out_c = 48; shapes.push_back(t);        // strided 1×1
  t = s; t.batch = 1; t.in_h = 4; t.in_w = 50; t.pad_t = 0; t.pad_l = 2; t.pad_b = 1;
  t.pad_r = 0; t.kw = 4; shapes.push_back(t);                      // asymmetric padding
  for (const QConvShape& sh : shapes)
    for (QGemmOutput o : {QGemmOutput::u8, QGemmOutput::f32, QGemmOutput::s32}) check_conv(sh, o);
}
