// CPUID + XGETBV detection. Built for baseline x86-64: no ISA intrinsics are used here.
#include "kernels/cpu_features.h"

#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace mq::kernels {
namespace {

std::uint64_t read_xcr0() {
  std::uint32_t eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<std::uint64_t>(edx) << 32) | eax;
}

// Linux keeps AMX tile data off until a process asks for it; without the grant the first
// tile instruction raises SIGILL. The grant is per process (every thread, now and later).
bool request_amx_permission() {
#if defined(__linux__) && defined(SYS_arch_prctl)
  constexpr long arch_req_xcomp_perm = 0x1023, xfeature_xtiledata = 18;
  return syscall(SYS_arch_prctl, arch_req_xcomp_perm, xfeature_xtiledata) == 0;
#else
  return false;
#endif
}

CpuFeatures detect() {
  CpuFeatures f;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_max(0, nullptr) < 7) return f;
  __cpuid(1, eax, ebx, ecx, edx);
  const bool osxsave = (ecx >> 27) & 1;
  const bool fma = (ecx >> 12) & 1;
  const bool avx = (ecx >> 28) & 1;
  if (!osxsave || !avx) return f;
  const std::uint64_t xcr0 = read_xcr0();
  const bool ymm_state = (xcr0 & 0x6) == 0x6;    // SSE + AVX state
  const bool zmm_state = (xcr0 & 0xE6) == 0xE6;  // + opmask, ZMM_Hi256, Hi16_ZMM
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  const bool avx2 = (ebx >> 5) & 1;
  const bool avx512f = (ebx >> 16) & 1;
  const bool avx512dq = (ebx >> 17) & 1;
  const bool avx512bw = (ebx >> 30) & 1;
  const bool avx512vl = (ebx >> 31) & 1;
  const bool avx512vnni = (ecx >> 11) & 1;
  const bool avx512vbmi = (ecx >> 1) & 1;
  unsigned eax1 = 0, ebx1 = 0, ecx1 = 0, edx1 = 0;
  __cpuid_count(7, 1, eax1, ebx1, ecx1, edx1);
  const bool avxvnni = (eax1 >> 4) & 1;
  f.avx2 = ymm_state && avx2 && fma;
  f.avx512 = f.avx2 && zmm_state && avx512f && avx512bw && avx512vl && avx512dq;
  f.avx512vnni = f.avx512 && avx512vnni;
  f.avx512vbmi = f.avx512 && avx512vbmi;
  f.avxvnni = f.avx2 && avxvnni;
  const bool amx_tile = (edx >> 24) & 1, amx_int8 = (edx >> 25) & 1;
  const bool tile_state = (xcr0 & 0x60000) == 0x60000;  // XTILECFG + XTILEDATA
  f.amx = f.avx512vnni && amx_tile && amx_int8 && tile_state && request_amx_permission();
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

Isa best_isa() {
  const CpuFeatures& f = cpu_features();
  if (f.amx) return Isa::amx;
  if (f.avx512vnni) return Isa::avx512vnni;
  if (f.avxvnni) return Isa::avxvnni;
  if (f.avx512) return Isa::avx512;
  if (f.avx2) return Isa::avx2;
  return Isa::scalar;
}

bool isa_supported(Isa isa) {
  const CpuFeatures& f = cpu_features();
  switch (isa) {
    case Isa::scalar: return true;
    case Isa::avx2: return f.avx2;
    case Isa::avx512: return f.avx512;
    case Isa::avxvnni: return f.avxvnni;
    case Isa::avx512vnni: return f.avx512vnni;
    case Isa::amx: return f.amx;
  }
  return false;
}

bool parse_isa(const char* text, Isa* out) {
  if (text == nullptr) return false;
  for (Isa isa : isa_tiers) {
    if (std::strcmp(text, isa_name(isa)) == 0) {
      *out = isa;
      return true;
    }
  }
  return false;
}

Isa resolve_isa(const char* requested, Isa best) {
  Isa forced{};
  if (!parse_isa(requested, &forced)) return best;
  return static_cast<int>(forced) < static_cast<int>(best) ? forced : best;
}

Isa active_isa() {
  static const Isa isa = [] {
    Isa resolved = resolve_isa(std::getenv("MONOQUANT_ISA"), best_isa());
    // A CPU may have AVX512-VNNI without AVX-VNNI (Ice Lake, Cascade Lake), or AVX-VNNI
    // without AVX-512 (Alder Lake): a forced tier it cannot run becomes the next lower one.
    while (!isa_supported(resolved)) resolved = static_cast<Isa>(static_cast<int>(resolved) - 1);
    return resolved;
  }();
  return isa;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
    case Isa::avxvnni: return "avxvnni";
    case Isa::avx512vnni: return "avx512vnni";
    case Isa::amx: return "amx";
  }
  return "unknown";
}

}  // namespace mq::kernels
