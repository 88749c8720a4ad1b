#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/int8/lookup.h"

using namespace mq::kernels;

TEST_CASE("byte table lookup gives the scalar reference's bytes at every length and alignment") {
  if (!cpu_features().avx512vbmi) MESSAGE("no AVX512-VBMI: lookup_u8 runs the scalar loop");
  std::mt19937 rng(7);
  std::vector<uint8_t> table(256);
  for (auto& t : table) t = uint8_t(rng());
  for (int64_t n : {0, 1, 63, 64, 65, 127, 128, 200, 1000, 4099}) {
    for (int64_t offset : {0, 1, 13}) {
      std::vector<uint8_t> x(static_cast<size_t>(n + offset)), want(static_cast<size_t>(n)),
          got(static_cast<size_t>(n) + 64, 0xAB);
      for (auto& v : x) v = uint8_t(rng());
      lookup_u8_scalar(x.data() + offset, want.data(), n, table.data());
      for (const LookupVariant& v : lookup_variants()) {  // every variant this CPU has
        std::fill(got.begin(), got.end(), uint8_t(0xAB));
        v.fn(x.data() + offset, got.data(), n, table.data());
        CAPTURE(v.name);
        CAPTURE(n);
        CAPTURE(offset);
        CHECK(std::equal(want.begin(), want.end(), got.begin()));
        CHECK(got[size_t(n)] == 0xAB);  // nothing written past the end
      }
    }
  }
  // every byte value maps through its own entry (both halves of the table)
  std::vector<uint8_t> all(256), out(256);
  for (int i = 0; i < 256; ++i) all[size_t(i)] = uint8_t(i);
  lookup_u8(all.data(), out.data(), 256, table.data());
  CHECK(out == table);
}

TEST_CASE("byte-pair table lookup gives the scalar reference's bytes at every length and alignment") {
  std::mt19937 rng(11);
  std::vector<uint8_t> table(static_cast<size_t>(kPairTableSize));
  for (auto& t : table) t = uint8_t(rng());
  for (int64_t n : {0, 1, 15, 16, 17, 63, 200, 1000, 4099}) {
    for (int64_t offset : {0, 1, 13}) {
      std::vector<uint8_t> a(static_cast<size_t>(n + offset)), b(a.size()), want(static_cast<size_t>(n)),
          got(static_cast<size_t>(n) + 64, 0xAB);
      for (auto& v : a) v = uint8_t(rng());
      for (auto& v : b) v = uint8_t(rng());
      lookup_pair_u8_scalar(a.data() + offset, b.data(), want.data(), n, table.data());
      for (int64_t i = 0; i < n; ++i)  // the reference is the table itself
        REQUIRE(want[size_t(i)] == table[size_t(a[size_t(i + offset)]) * 256 + b[size_t(i)]]);
      for (const PairLookupVariant& v : pair_lookup_variants()) {  // every variant this CPU has
        std::fill(got.begin(), got.end(), uint8_t(0xAB));
        v.fn(a.data() + offset, b.data(), got.data(), n, table.data());
        CAPTURE(v.name);
        CAPTURE(n);
        CAPTURE(offset);
        CHECK(std::equal(want.begin(), want.end(), got.begin()));
        CHECK(got[size_t(n)] == 0xAB);  // nothing written past the end
      }
    }
  }
  // every pair maps through its own entry, the table's first and last bytes included
  std::vector<uint8_t> a(static_cast<size_t>(kPairTableSize)), b(a.size()), out(a.size());
  for (int64_t i = 0; i < kPairTableSize; ++i) {
    a[size_t(i)] = uint8_t(i >> 8);
    b[size_t(i)] = uint8_t(i);
  }
  lookup_pair_u8(a.data(), b.data(), out.data(), kPairTableSize, table.data());
  CHECK(out == table);
}
