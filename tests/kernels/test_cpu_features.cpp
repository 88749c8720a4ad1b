#include <doctest/doctest.h>

#include <cstdlib>
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

TEST_CASE("cpu features: MONOQUANT_ISA in this process's environment is honoured") {
  // ctest runs this suite once per forced tier (tests/CMakeLists.txt).
  const char* forced = std::getenv("MONOQUANT_ISA");
  Isa want{};
  if (forced != nullptr && parse_isa(forced, &want)) {
    MESSAGE("MONOQUANT_ISA=" << forced);
    if (isa_supported(want)) CHECK(active_isa() == want);
    else CHECK(static_cast<int>(active_isa()) < static_cast<int>(want));
  } else {
    CHECK(active_isa() == best_isa());
  }
  const CpuFeatures& f = cpu_features();
  CHECK((!f.amx || f.avx512vnni));  // the AMX tier's epilogue and tails are AVX-512
  CHECK((!f.avx512vnni || f.avx512));
  CHECK((!f.avxvnni || f.avx2));
  CHECK((!f.avx512 || f.avx2));
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
  CHECK(parse_isa("amx", &isa));
  CHECK(isa == Isa::amx);
  CHECK(resolve_isa("avx512vnni", Isa::amx) == Isa::avx512vnni);
  CHECK(resolve_isa("amx", Isa::avx512vnni) == Isa::avx512vnni);
  CHECK(resolve_isa("avx512", Isa::avx512vnni) == Isa::avx512);
  CHECK(resolve_isa("avxvnni", Isa::avx512) == Isa::avx512);
  for (int i = 0; i < isa_count; ++i) {
    CHECK(static_cast<int>(isa_tiers[i]) == i);  // the list is the enum, lowest first
    CHECK(parse_isa(isa_name(isa_tiers[i]), &isa));
    CHECK(isa == isa_tiers[i]);
  }
}
