// Run-time selection from a kernel family's variant table. Every family lists its variants in
// one table, lowest tier first, the first entry being the portable (scalar tier) one; each
// entry names the Isa it needs. The same table drives dispatch, the kernel tests and the
// benchmarks.
#pragma once

#include <span>
#include <vector>

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

/// The entries of `variants` this CPU can run, in table order (what tests and benchmarks
/// iterate).
template <class Variant>
std::vector<const Variant*> supported_variants(std::span<const Variant> variants) {
  std::vector<const Variant*> out;
  for (const Variant& v : variants)
    if (isa_supported(v.isa)) out.push_back(&v);
  return out;
}

/// The tiers of isa_tiers this CPU supports, lowest first.
inline std::vector<Isa> supported_tiers() {
  std::vector<Isa> out;
  for (Isa isa : isa_tiers)
    if (isa_supported(isa)) out.push_back(isa);
  return out;
}

}  // namespace mq::kernels
