// Helpers shared by the kernel tests: the runnable entries of a variant table, aligned
// buffers and seeded random fills.
#pragma once

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "kernels/variant_table.h"

namespace mq::kernels::test {

/// The entries of a family's variant table this CPU can run; each other entry is skipped
/// with a message naming it and the tier it needs.
template <class Variant>
std::vector<const Variant*> runnable(std::span<const Variant> variants) {
  for (const Variant& v : variants)
    if (!isa_supported(v.isa))
      MESSAGE("skipping " << std::string(v.name) << ": CPU lacks " << std::string(isa_name(v.isa)));
  return supported_variants(variants);
}

/// The tiers of isa_tiers this CPU supports (for kernels that combine several families);
/// each other tier is skipped with a message.
inline std::vector<Isa> runnable_tiers() {
  for (Isa isa : isa_tiers)
    if (!isa_supported(isa)) MESSAGE("skipping tier " << std::string(isa_name(isa)) << ": CPU lacks it");
  return supported_tiers();
}

/// 64-byte aligned heap buffer of T.
template <class T>
struct Aligned {
  explicit Aligned(std::size_t count)
      : n(count), ptr(static_cast<T*>(std::aligned_alloc(64, ((count * sizeof(T) + 63) / 64 + 1) * 64))) {
    std::memset(static_cast<void*>(ptr.get()), 0, count * sizeof(T));
  }
  T* data() { return ptr.get(); }
  const T* data() const { return ptr.get(); }
  T& operator[](std::size_t i) { return ptr.get()[i]; }
  std::size_t n;
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  std::unique_ptr<T, Free> ptr;
};

inline std::mt19937& rng() {
  static std::mt19937 g(12345);
  return g;
}

template <class T>
void fill_int(T* p, std::size_t n, int lo, int hi) {
  std::uniform_int_distribution<int> d(lo, hi);
  for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<T>(d(rng()));
}

inline void fill_float(float* p, std::size_t n, float lo, float hi) {
  std::uniform_real_distribution<float> d(lo, hi);
  for (std::size_t i = 0; i < n; ++i) p[i] = d(rng());
}

}  // namespace mq::kernels::test
