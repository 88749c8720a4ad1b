// Run-time selection from a kernel family's variant table. Every family lists its variants in
// one table, lowest tier first, the first entry being the portable (scalar tier) one; each
// entry names the Isa it needs. The same table drives dispatch, the kernel tests and the
// benchmarks.
#pragma once

#include <span>

#include "kernels/cpu_features.h"

namespace mq::kernels {

/// True when a variant needing tier `need` may run with tier `cap` in force on this CPU.
inline bool isa_allows(Isa cap, Isa need) {
  return static_cast<int>(need) <= static_cast<int>(cap) && isa_supported(need);
}

/// The last entry of `variants` whose tier `isa` allows (the first entry when none does).
/// `Variant` is any struct with an `Isa isa` member.
template <class Variant>
const Variant& select_variant(std::span<const Variant> variants, Isa isa) {
  const Variant* best = &variants[0];
  for (const Variant& v : variants)
    if (isa_allows(isa, v.isa)) best = &v;
  return *best;
}

}  // namespace mq::kernels
