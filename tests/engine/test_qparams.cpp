// Scale / zero-point math, quantize / dequantize and SQNR.
//
// Reference numbers marked "torch 1.13" were computed with Debian's /usr/bin/python3
// (torch 1.13) using torch.ao.quantization.observer.MinMaxObserver / PerChannelMinMaxObserver
// on the same data, e.g.
//   o = MinMaxObserver(dtype=torch.quint8, qscheme=torch.per_tensor_affine)
//   o(torch.tensor([-1.7, 0.3, 2.9, 0.05])); o.calculate_qparams()
// The ORT-convention numbers are hand-computed from quant_utils.compute_scale_zp.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "engine/observers/qparams.h"
#include "ir/error.h"

using namespace mq;

namespace {
QuantScheme scheme(DType t, bool sym, bool reduce = false, QuantConvention c = QuantConvention::pytorch) {
  return QuantScheme{t, sym, reduce, c};
}
const QuantScheme u8a = scheme(DType::u8, false);
const QuantScheme s8a = scheme(DType::i8, false);
const QuantScheme u8s = scheme(DType::u8, true);
const QuantScheme s8s = scheme(DType::i8, true);
}  // namespace

TEST_CASE("qparams: quantized ranges") {
  CHECK(quant_range(u8a).qmin == 0);
  CHECK(quant_range(u8a).qmax == 255);
  CHECK(quant_range(scheme(DType::u8, false, true)).qmax == 127);
  CHECK(quant_range(s8a).qmin == -128);
  CHECK(quant_range(scheme(DType::i8, true, true)).qmin == -64);
  CHECK(quant_range(scheme(DType::i8, true, true)).qmax == 63);
  // ORT: symmetric s8 is restricted to ±127, reduce_range s8 is [-64, 64].
  CHECK(quant_range(scheme(DType::i8, true, false, QuantConvention::onnxruntime)).qmin == -127);
  CHECK(quant_range(scheme(DType::i8, false, true, QuantConvention::onnxruntime)).qmax == 64);
  CHECK_THROWS_AS(quant_range(scheme(DType::u8, true, true)), InvalidArgument);  // as PyTorch
  CHECK_THROWS_AS(quant_range(scheme(DType::i32, false)), InvalidArgument);
}

TEST_CASE("qparams: asymmetric, hand-computed and torch 1.13") {
  // [-1.7, 2.9]: scale = 4.6 / 255, zp = 0 - round(-1.7 / scale) = round(94.24) = 94.
  auto [s, z] = compute_scale_zero_point(-1.7f, 2.9f, u8a);
  CHECK(s == 0.018039217218756676f);  // torch 1.13
  CHECK(z == 94);                     // torch 1.13
  auto [s2, z2] = compute_scale_zero_point(-1.7f, 2.9f, s8a);
  CHECK(s2 == 0.018039217218756676f);  // torch 1.13
  CHECK(z2 == -34);                    // torch 1.13: -128 + 94
  auto [s3, z3] = compute_scale_zero_point(-1.7f, 2.9f, scheme(DType::u8, false, true));
  CHECK(s3 == 0.036220476031303406f);  // torch 1.13, reduce_range: 4.6 / 127
  CHECK(z3 == 47);
}

TEST_CASE("qparams: all-positive and all-negative ranges include zero") {
  // [0.5, 3.3] → [0, 3.3]: scale 3.3/255, zp 0 (torch 1.13: 0.012941176071763039, 0).
  auto [s, z] = compute_scale_zero_point(0.5f, 3.3f, u8a);
  CHECK(s == 0.012941176071763039f);
  CHECK(z == 0);
  // [-3.3, -0.5] → [-3.3, 0]: zp = 0 - round(-255) = 255 (u8), -128 + 255 = 127 (s8).
  auto [s2, z2] = compute_scale_zero_point(-3.3f, -0.5f, u8a);
  CHECK(s2 == 0.012941176071763039f);
  CHECK(z2 == 255);
  CHECK(compute_scale_zero_point(-3.3f, -0.5f, s8a).second == 127);
}

TEST_CASE("qparams: zero and tiny ranges hit the epsilon floor") {
  auto [s, z] = compute_scale_zero_point(0.0f, 0.0f, u8a);
  CHECK(s == kScaleEps);  // torch 1.13: 1.1920928955078125e-07, zp 0
  CHECK(z == 0);
  CHECK(compute_scale_zero_point(0.0f, 0.0f, s8a).second == -128);
  auto [s2, z2] = compute_scale_zero_point(-1e-9f, 2e-9f, u8a);
  CHECK(s2 == kScaleEps);  // torch 1.13
  CHECK(z2 == 0);          // 0 - round(-1e-9 / eps) = 0 - round(-0.0084)
  CHECK(compute_scale_zero_point(-1e-9f, 2e-9f, s8s).first == kScaleEps);
}

TEST_CASE("qparams: symmetric s8 and u8") {
  // max(|-1.7|, 2.9) / 127.5
  auto [s, z] = compute_scale_zero_point(-1.7f, 2.9f, s8s);
  CHECK(s == 0.022745098918676376f);  // torch 1.13
  CHECK(z == 0);
  auto [s2, z2] = compute_scale_zero_point(-1.7f, 2.9f, u8s);
  CHECK(s2 == 0.022745098918676376f);  // torch 1.13
  CHECK(z2 == 128);
  auto [s3, z3] = compute_scale_zero_point(-1.7f, 2.9f, scheme(DType::i8, true, true));
  CHECK(s3 == 0.04566929116845131f);  // torch 1.13: 2.9 / 63.5
  CHECK(z3 == 0);
  // all-negative symmetric: uses |min|
  CHECK(compute_scale_zero_point(-5.1f, -1.0f, s8s).first == 5.1f / 127.5f);
}

TEST_CASE("qparams: per channel") {
  // Rows of [[0.1,-0.4,0.25],[3,-1,2],[0,0,0]], axis 0, s8 symmetric (torch 1.13).
  std::vector<float> mn{-0.4f, -1.0f, 0.0f}, mx{0.25f, 3.0f, 0.0f};
  QuantParams qp = compute_qparams(mn, mx, int64_t{0}, s8s);
  REQUIRE(qp.scales.size() == 3);
  CHECK(qp.axis == 0);
  CHECK(qp.qtype == DType::i8);
  CHECK(qp.scales[0] == 0.0031372548546642065f);
  CHECK(qp.scales[1] == 0.0235294122248888f);
  CHECK(qp.scales[2] == kScaleEps);
  CHECK(qp.zero_points == std::vector<int32_t>{0, 0, 0});
  // Columns (axis 1), u8 affine (torch 1.13).
  QuantParams qc = compute_qparams(std::vector<float>{0.0f, -1.0f, 0.0f}, std::vector<float>{3.0f, 0.0f, 2.0f},
                                   int64_t{1}, u8a);
  CHECK(qc.scales[0] == 0.0117647061124444f);
  CHECK(qc.scales[1] == 0.003921568859368563f);
  CHECK(qc.scales[2] == 0.007843137718737125f);
  CHECK(qc.zero_points == std::vector<int32_t>{0, 255, 0});
  QuantParams pt = compute_qparams(-1.7f, 2.9f, u8a);
  CHECK_FALSE(pt.per_channel());
  CHECK(pt.zero_points[0] == 94);
}

TEST_CASE("qparams: bad input") {
  CHECK_THROWS_AS(compute_scale_zero_point(1.0f, -1.0f, u8a), InvalidArgument);
  CHECK_THROWS_AS(compute_scale_zero_point(std::nanf(""), 1.0f, u8a), InvalidArgument);
  CHECK_THROWS_AS(compute_scale_zero_point(0.0f, std::numeric_limits<float>::infinity(), u8a), InvalidArgument);
  std::vector<float> a{0.0f, 1.0f}, b{1.0f};
  CHECK_THROWS_AS(compute_qparams(a, b, int64_t{0}, u8a), InvalidArgument);
  CHECK_THROWS_AS(compute_qparams(a, a, std::nullopt, u8a), InvalidArgument);
}

TEST_CASE("qparams: onnxruntime convention") {
  const QuantConvention ort = QuantConvention::onnxruntime;
  auto [s, z] = compute_scale_zero_point(-1.7f, 2.9f, scheme(DType::u8, false, false, ort));
  CHECK(s == float(double(2.9f - -1.7f) / 255.0));
  CHECK(z == 94);
  // symmetric s8 over [-127, 127]: 2·2.9 / 254
  auto [s2, z2] = compute_scale_zero_point(-1.7f, 2.9f, scheme(DType::i8, true, false, ort));
  CHECK(s2 == float(double(2.9f + 2.9f) / 254.0));
  CHECK(z2 == 0);
  CHECK(compute_scale_zero_point(-1.7f, 2.9f, scheme(DType::u8, true, false, ort)).second == 128);
  // reduce_range s8 [-64, 64]: zp = round(-64 + 1.7 / (4.6 / 128)) = round(-16.70) = -17
  CHECK(compute_scale_zero_point(-1.7f, 2.9f, scheme(DType::i8, false, true, ort)).second == -17);
  // zero range: scale 1, zp 0; tiny range keeps its tiny scale (no eps floor in ORT)
  auto [s3, z3] = compute_scale_zero_point(0.0f, 0.0f, scheme(DType::u8, false, false, ort));
  CHECK(s3 == 1.0f);
  CHECK(z3 == 0);
  auto [s4, z4] = compute_scale_zero_point(-1e-9f, 2e-9f, scheme(DType::u8, false, false, ort));
  CHECK(s4 == float(double(2e-9f - -1e-9f) / 255.0));
  CHECK(z4 == 85);
}

TEST_CASE("quantize / dequantize: round half to even, saturate") {
  QuantParams qp = compute_qparams(0.0f, 1.0f, u8a);
  qp.scales = {0.5f};
  qp.zero_points = {10};
  Tensor x = Tensor::from_vector<float>({6}, {0.25f, 0.75f, -10.0f, 200.0f, 1.0f, -0.25f});
  Tensor q = quantize_tensor(x, qp);
  REQUIRE(q.dtype() == DType::u8);
  const uint8_t* p = q.data<uint8_t>();
  CHECK(p[0] == 10);   // 0.5 → 0 (even)
  CHECK(p[1] == 12);   // 1.5 → 2
  CHECK(p[2] == 0);    // saturates low
  CHECK(p[3] == 255);  // saturates high
  CHECK(p[4] == 12);
  CHECK(p[5] == 10);  // -0.5 → -0
  Tensor d = dequantize_tensor(q);
  CHECK(d.data<float>()[1] == 1.0f);
  CHECK(d.data<float>()[2] == -5.0f);
  CHECK(quantize_value(2.5f, 1.0f, 0, DType::i8) == 2);
  CHECK(quantize_value(3.5f, 1.0f, 0, DType::i8) == 4);
  CHECK(quantize_value(-1000.0f, 1.0f, 0, DType::i8) == -128);
}

TEST_CASE("quantize / dequantize: per channel") {
  // 2 x 3 weight, channels along axis 0 with scales 0.1 and 1.0.
  QuantParams qp;
  qp.scales = {0.1f, 1.0f};
  qp.zero_points = {0, 0};
  qp.axis = 0;
  qp.qtype = DType::i8;
  Tensor w = Tensor::from_vector<float>({2, 3}, {0.1f, -0.3f, 20.0f, 1.0f, -3.0f, 200.0f});
  Tensor q = quantize_tensor(w, qp);
  const int8_t* p = q.data<int8_t>();
  CHECK(p[0] == 1);
  CHECK(p[1] == -3);
  CHECK(p[2] == 127);
  CHECK(p[3] == 1);
  CHECK(p[4] == -3);
  CHECK(p[5] == 127);
  Tensor f = fake_quantize(w, qp);
  CHECK(f.data<float>()[4] == -3.0f);
  CHECK(f.data<float>()[5] == 127.0f);
  qp.axis = 1;  // 3 channels, but only 2 scales
  CHECK_THROWS_AS(quantize_tensor(w, qp), InvalidArgument);
}

TEST_CASE("sqnr") {
  std::vector<float> a{3.0f, 4.0f}, b{3.0f, 3.0f}, z{0.0f, 0.0f};
  CHECK(sqnr_db(a, b) == doctest::Approx(10.0 * std::log10(25.0)));
  CHECK(sqnr_db(a, a) == std::numeric_limits<double>::infinity());
  CHECK(sqnr_db(z, z) == std::numeric_limits<double>::infinity());
  CHECK(sqnr_db(z, a) == -std::numeric_limits<double>::infinity());
  CHECK_THROWS_AS(sqnr_db(a, std::vector<float>{1.0f}), InvalidArgument);
  // A weight quantized per channel to s8 keeps a high SQNR.
  std::vector<float> wv(256);
  for (size_t i = 0; i < wv.size(); ++i) wv[i] = std::sin(float(i) * 0.37f) * (i < 128 ? 0.01f : 2.0f);
  Tensor w = Tensor::from_vector<float>({2, 128}, wv);
  QuantParams qp =
      compute_qparams(std::vector<float>{-0.01f, -2.0f}, std::vector<float>{0.01f, 2.0f}, int64_t{0}, s8s);
  CHECK(sqnr_db(w, fake_quantize(w, qp)) > 35.0);
}
