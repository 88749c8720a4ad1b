#include <doctest/doctest.h>

#include <initializer_list>
#include <string>

#include "kernels/cpu_features.h"

using namespace mq::kernels;

TEST_CASE("cpu features: best and active tiers are consistent") {
  const Isa best = best_isa();
  CHECK(isa_supported(best));
  CHECK(isa_supported(Isa::scalar));
  CHECK(static_cast<int>(active_isa()) <= static_cast<int>(best));
  CHECK(isa_supported(active_isa()));
  MESSAGE("best ISA: " << std::string(isa_name(best)) << ", active: " << std::string(isa_name(active_isa())));
}

TEST_CASE("cpu features: MONOQUANT_ISA parsing and lowering") {
  Isa isa{};
  CHECK(parse_isa("scalar", &isa));
  CHECK(isa == Isa::scalar);
  CHECK(parse_isa("avx512vnni", &isa));
  CHECK(isa == Isa::avx512vnni);
  CHECK_FALSE(parse_isa("AVX2 ", &isa));
  CHECK_FALSE(parse_isa("", &isa));
  CHECK_FALSE(parse_isa(nullptr, &isa));
  CHECK(resolve_isa("avx2", Isa::avx512vnni) == Isa::avx2);
  CHECK(resolve_isa("scalar", Isa::avx512vnni) == Isa::scalar);
  CHECK(resolve_isa("avx512vnni", Isa::avx2) == Isa::avx2);  // cannot raise above the CPU
  CHECK(resolve_isa("bogus", Isa::avxvnni) == Isa::avxvnni);
  CHECK(resolve_isa(nullptr, Isa::avx2) == Isa::avx2);
  for (Isa i : {Isa::scalar, Isa::avx2, Isa::avxvnni, Isa::avx512vnni}) {
    CHECK(parse_isa(isa_name(i), &isa));
    CHECK(isa == i);
  }
}
