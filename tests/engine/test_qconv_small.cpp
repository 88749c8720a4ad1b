// QConv2d on small reductions (first layers: one or three input channels) against a naive
// int8 loop with the engine's requantization, for u8 and s8 activations and outputs, fused
// Relu, strides, pads and dilations, on 1 and 2 threads. Run under every MONOQUANT_ISA tier
// (engine_isa_*), it shows the tiers give the same bytes.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>

#include "kernels/qgemm.h"
#include "one_node.h"

using namespace mq;

namespace {

struct SmallConv {
  int64_t c, h, w, m, k, stride, pad, dil;
  DType x_type, y_type;
  bool relu;
};

Tensor random_ints(DType t, std::vector<int64_t> dims, std::mt19937& rng, int lo, int hi) {
  Tensor x(t, std::move(dims));
  std::uniform_int_distribution<int> u(lo, hi);
  for (int64_t i = 0; i < x.numel(); ++i) {
    if (t == DType::u8) x.data<uint8_t>()[i] = uint8_t(u(rng));
    else x.data<int8_t>()[i] = int8_t(u(rng));
  }
  return x;
}

QuantParams per_tensor(float scale, int32_t zp, DType t) {
  QuantParams q;
  q.scales = {scale};
  q.zero_points = {zp};
  q.qtype = t;
  return q;
}

void check_small_conv(const SmallConv& sc, uint32_t seed) {
  std::mt19937 rng(seed);
  const bool xs8 = sc.x_type == DType::i8, ys8 = sc.y_type == DType::i8;
  const int32_t xzp = xs8 ? -7 : 121, yzp = ys8 ? -20 : 30;
  const float xs = 0.02f, ys = 0.05f;
  Tensor x = random_ints(sc.x_type, {2, sc.c, sc.h, sc.w}, rng, xs8 ? -128 : 0, xs8 ? 127 : 255);
  x.set_quant(per_tensor(xs, xzp, sc.x_type));
  Tensor w = random_ints(DType::i8, {sc.m, sc.c, sc.k, sc.k}, rng, -127, 127);
  QuantParams wq;
  std::uniform_real_distribution<float> us(0.002f, 0.01f);
  for (int64_t o = 0; o < sc.m; ++o) wq.scales.push_back(us(rng));
  wq.zero_points.assign(size_t(sc.m), 0);
  wq.axis = 0;
  wq.qtype = DType::i8;
  w.set_quant(wq);
  Tensor bias = random_ints(DType::i8, {sc.m}, rng, -128, 127);  // widened below
  std::vector<int32_t> b32(size_t(sc.m));
  for (int64_t o = 0; o < sc.m; ++o) b32[size_t(o)] = int32_t(bias.data<int8_t>()[o]) * 40;
  Tensor bt = Tensor::from_vector<int32_t>({sc.m}, b32);
  Tensor y_scale = Tensor::scalar<float>(ys);
  Tensor y_zp = ys8 ? Tensor::scalar<int8_t>(int8_t(yzp)) : Tensor::scalar<uint8_t>(uint8_t(yzp));
  Attributes a;
  a.set("pads", std::vector<int64_t>{sc.pad, sc.pad, sc.pad, sc.pad});
  a.set("strides", std::vector<int64_t>{sc.stride, sc.stride});
  a.set("dilations", std::vector<int64_t>{sc.dil, sc.dil});
  if (sc.relu) a.set("activation", std::string("relu"));
  const int64_t ext = sc.dil * (sc.k - 1) + 1;
  const int64_t oh = (sc.h + 2 * sc.pad - ext) / sc.stride + 1, ow = (sc.w + 2 * sc.pad - ext) / sc.stride + 1;
  const int32_t qmin = std::max(ys8 ? -128 : 0, sc.relu ? yzp : -1000), qmax = ys8 ? 127 : 255;
  INFO("c " << sc.c << " k " << sc.k << " m " << sc.m << " stride " << sc.stride << " pad " << sc.pad << " dil "
            << sc.dil << " x " << (xs8 ? "s8" : "u8") << " y " << (ys8 ? "s8" : "u8"));
  for (int threads : {1, 2}) {
    const Tensor y =
        test::run_node(OpKind::QConv2d, {&x, &w, &bt, &y_scale, &y_zp}, a, 1, {1, 2, 3, 4}, threads)[0];
    REQUIRE(y.dims() == std::vector<int64_t>{2, sc.m, oh, ow});
    REQUIRE(y.dtype() == sc.y_type);
    const auto got = y.to_int64();
    int64_t mismatches = 0;
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t o = 0; o < sc.m; ++o) {
        const float mult = xs * wq.scales[size_t(o)] / ys;
        for (int64_t oy = 0; oy < oh; ++oy)
          for (int64_t ox = 0; ox < ow; ++ox) {
            int32_t acc = b32[size_t(o)];
            for (int64_t ci = 0; ci < sc.c; ++ci)
              for (int64_t ky = 0; ky < sc.k; ++ky)
                for (int64_t kx = 0; kx < sc.k; ++kx) {
                  const int64_t iy = oy * sc.stride - sc.pad + ky * sc.dil,
                                ix = ox * sc.stride - sc.pad + kx * sc.dil;
                  if (iy < 0 || iy >= sc.h || ix < 0 || ix >= sc.w) continue;
                  const int64_t xi = ((n * sc.c + ci) * sc.h + iy) * sc.w + ix;
                  const int32_t xv = xs8 ? x.data<int8_t>()[xi] : x.data<uint8_t>()[xi];
                  acc += (xv - xzp) * w.data<int8_t>()[((o * sc.c + ci) * sc.k + ky) * sc.k + kx];
                }
            const int64_t want = kernels::requantize_value(acc, mult, yzp, qmin, qmax);
            mismatches += got[size_t(((n * sc.m + o) * oh + oy) * ow + ox)] != want;
          }
      }
    CAPTURE(threads);
    CHECK(mismatches == 0);
  }
}

}  // namespace

TEST_CASE("QConv2d with a small reduction (1- and 3-channel first layers) equals a naive int8 loop") {
  const SmallConv convs[] = {
      {1, 20, 19, 64, 5, 1, 2, 1, DType::u8, DType::u8, true},   // super_resolution's Conv_0
      {1, 20, 19, 64, 5, 1, 2, 1, DType::i8, DType::i8, true},   // the same with s8 activations
      {3, 17, 18, 32, 3, 2, 1, 1, DType::u8, DType::u8, false},  // an RGB stem, stride 2
      {3, 17, 18, 16, 3, 2, 1, 1, DType::i8, DType::u8, true},   //
      {3, 21, 20, 24, 6, 2, 2, 1, DType::u8, DType::i8, true},   // a 6×6 stride-2 stem
      {1, 15, 16, 80, 3, 1, 2, 2, DType::u8, DType::u8, true},   // dilated
  };
  uint32_t seed = 5;
  for (const SmallConv& sc : convs) check_small_conv(sc, seed++);
}
