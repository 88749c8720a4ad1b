// Quantization kernels of every tier against the scalar reference, bit for bit.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/quant.h"
#include "kernels/reference/quant_ref.h"
#include "kernel_test_util.h"

using namespace mq::kernels;

namespace {

std::vector<float> sample(std::size_t n, float scale) {
  std::vector<float> x(n);
  test::fill_float(x.data(), n, -200.0f * scale, 200.0f * scale);
  for (std::size_t i = 0; i < n; i += 7) x[i] = (static_cast<float>(i % 11) - 5.0f + 0.5f) * scale;  // ties
  if (n > 3) x[3] = 1e30f;
  if (n > 5) x[5] = -1e30f;
  if (n > 9) x[9] = NAN;
  return x;
}

}  // namespace

TEST_CASE("quant: every variant matches the reference") {
  const QuantKernels& ref = reference::quant_kernels();
  for (const QuantVariant* v : test::runnable(quant_variants())) {
    INFO(std::string(v->name));
    const QuantKernels& k = *v->kernels;
    for (std::size_t n : {0, 1, 7, 8, 15, 16, 17, 31, 33, 64, 100, 1000}) {
      INFO("n=" << n);
      const QuantAffine q{0.37f, 131}, qs{0.21f, -7};
      std::vector<float> x = sample(n, q.scale);
      std::vector<std::uint8_t> u_ref(n + 1, 9), u_got(n + 1, 9);
      ref.quantize_u8(x.data(), n, q, u_ref.data());
      k.quantize_u8(x.data(), n, q, u_got.data());
      CHECK(u_ref == u_got);
      std::vector<std::int8_t> s_ref(n + 1, 9), s_got(n + 1, 9);
      ref.quantize_s8(x.data(), n, qs, s_ref.data());
      k.quantize_s8(x.data(), n, qs, s_got.data());
      CHECK(s_ref == s_got);
      std::vector<float> d_ref(n), d_got(n);
      ref.dequantize_u8(u_ref.data(), n, q, d_ref.data());
      k.dequantize_u8(u_ref.data(), n, q, d_got.data());
      CHECK(d_ref == d_got);
      ref.dequantize_s8(s_ref.data(), n, qs, d_ref.data());
      k.dequantize_s8(s_ref.data(), n, qs, d_got.data());
      CHECK(d_ref == d_got);
      ref.requantize_u8(u_ref.data(), n, q, {0.5f, 20}, u_got.data());
      std::vector<std::uint8_t> r_got(n + 1, 9);
      k.requantize_u8(u_ref.data(), n, q, {0.5f, 20}, r_got.data());
      u_got.back() = 9;
      CHECK(u_got == r_got);
      // fake_quant: the bits of dequantize(quantize(x)) (+0, never −0, for a quantized zero)
      for (const auto& [qq, lo, hi] : {std::tuple{q, 0.f, 255.f}, std::tuple{qs, -128.f, 127.f}}) {
        std::vector<float> f_ref(n + 1), f_got(n + 1), f_pair(n + 1);  // never null (memcmp)
        ref.fake_quant(x.data(), n, qq, lo, hi, f_ref.data());
        k.fake_quant(x.data(), n, qq, lo, hi, f_got.data());
        CHECK(std::memcmp(f_ref.data(), f_got.data(), n * sizeof(float)) == 0);
        if (lo == 0.f) {
          ref.quantize_u8(x.data(), n, qq, u_ref.data());
          ref.dequantize_u8(u_ref.data(), n, qq, f_pair.data());
        } else {
          ref.quantize_s8(x.data(), n, qq, s_ref.data());
          ref.dequantize_s8(s_ref.data(), n, qq, f_pair.data());
        }
        CHECK(std::memcmp(f_pair.data(), f_got.data(), n * sizeof(float)) == 0);
      }
      if (n > 0) {
        float lo1, hi1, lo2, hi2;
        ref.minmax_f32(x.data(), n, &lo1, &hi1);
        k.minmax_f32(x.data(), n, &lo2, &hi2);
        CHECK(lo1 == lo2);
        CHECK(hi1 == hi2);
      }
    }
  }
}

TEST_CASE("quant: rounding is to nearest even and saturates") {
  const QuantKernels& k = quant_active();
  const float x[] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 300.0f, -300.0f, 127.49f};
  std::uint8_t u[8];
  k.quantize_u8(x, 8, {1.0f, 10}, u);
  const std::uint8_t want_u[] = {10, 12, 12, 10, 8, 255, 0, 137};
  CHECK(std::memcmp(u, want_u, 8) == 0);
  std::int8_t s[8];
  k.quantize_s8(x, 8, {1.0f, 0}, s);
  const std::int8_t want_s[] = {0, 2, 2, 0, -2, 127, -128, 127};
  CHECK(std::memcmp(s, want_s, 8) == 0);
}

TEST_CASE("quant: choose_u8_params includes zero") {
  QuantAffine q = choose_u8_params(1.0f, 5.1f);
  CHECK(q.zero_point == 0);
  CHECK(q.scale == doctest::Approx(0.02f));
  q = choose_u8_params(-2.55f, 0.0f);
  CHECK(q.zero_point == 255);
  q = choose_u8_params(0.0f, 0.0f);
  CHECK(q.scale > 0.0f);
}
