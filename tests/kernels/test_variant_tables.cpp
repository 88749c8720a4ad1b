// The variant table of every kernel family: well formed, and selection honours the tier.
#include <doctest/doctest.h>

#include <span>
#include <string>

#include "kernels/fp32/lstm_step.h"
#include "kernels/fp32/vmath_kernels.h"
#include "kernels/qconv.h"
#include "kernels/qgemm.h"
#include "kernels/qlstm.h"
#include "kernels/quant.h"
#include "kernels/sgemm.h"
#include "kernels/sgemm_panels.h"

using namespace mq::kernels;

namespace {

int rank(Isa isa) { return static_cast<int>(isa); }

// A scalar entry first, tiers strictly ascending, names ending in "__<tier>"; selecting for
// any tier gives an entry the tier allows and the CPU runs, the highest such one.
template <class Variant, class Select>
void check_table(std::span<const Variant> vs, Select select) {
  REQUIRE(!vs.empty());
  CHECK(vs[0].isa == Isa::scalar);
  for (const Variant& v : vs) {
    const std::string name = v.name, suffix = std::string("__") + isa_name(v.isa);
    INFO(name);
    CHECK(name.size() > suffix.size());
    CHECK(name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0);
  }
  for (std::size_t i = 1; i < vs.size(); ++i) CHECK(rank(vs[i - 1].isa) < rank(vs[i].isa));
  for (Isa isa : isa_tiers) {
    const Variant& got = select(isa);
    INFO(std::string(vs[0].name) << " table, tier " << std::string(isa_name(isa)));
    CHECK(rank(got.isa) <= rank(isa));
    CHECK(isa_supported(got.isa));
    for (const Variant& v : vs)
      if (rank(v.isa) <= rank(isa) && isa_supported(v.isa)) CHECK(rank(v.isa) <= rank(got.isa));
  }
}

}  // namespace

TEST_CASE("variant tables: every family's table is well formed and selection honours the tier") {
  check_table(qgemm_variants(), qgemm_select);
  check_table(quant_variants(), quant_select);
  check_table(sgemm_variants(), sgemm_select);
  check_table(sgemm_panels_variants(), sgemm_panels_select);
  check_table(vmath_variants(), vmath_select);
  check_table(qconv_dw_variants(), qconv_dw_select);
  check_table(qconv_variants(), qconv_select);
  check_table(lstm_gates_variants(), lstm_gates_select);
  check_table(lstm_step_variants(), lstm_step_select);
}

TEST_CASE("variant tables: the active variants are the active tier's") {
  CHECK(&qgemm_active() == &qgemm_select(active_isa()));
  CHECK(&quant_active() == quant_select(active_isa()).kernels);
  CHECK(&sgemm_active() == &sgemm_select(active_isa()));
  CHECK(&sgemm_panels_active() == &sgemm_panels_select(active_isa()));
  CHECK(&lstm_step_active() == &lstm_step_select(active_isa()));
}
