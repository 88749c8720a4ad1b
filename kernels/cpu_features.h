// CPU feature detection (CPUID + XGETBV) and the ISA tier used to select kernels.
#pragma once

namespace mq::kernels {

/// ISA tiers of the int8 kernels, ordered from lowest to highest.
enum class Isa { scalar = 0, avx2 = 1, avxvnni = 2, avx512vnni = 3, amx = 4 };

/// Raw CPU features relevant to monoquant's kernels (OS support for the registers included).
struct CpuFeatures {
  bool avx2 = false;         ///< AVX2 and FMA, with YMM state enabled by the OS.
  bool avx512 = false;       ///< AVX512 F, BW, VL and DQ, with ZMM state enabled by the OS.
  bool avx512vnni = false;   ///< AVX512_VNNI (vpdpbusd on zmm).
  bool avxvnni = false;      ///< AVX_VNNI (VEX-encoded vpdpbusd on ymm).
  bool avx512vbmi = false;   ///< AVX512_VBMI (vpermi2b: 128-byte table lookups), with avx512.
  bool amx = false;          ///< AMX-TILE + AMX-INT8 with tile state enabled and granted by
                             ///< the OS (Linux: arch_prctl ARCH_REQ_XCOMP_PERM), plus avx512vnni.
};

/// Features of the running CPU, detected once.
const CpuFeatures& cpu_features();

/// The highest tier the running CPU supports.
Isa best_isa();

/// best_isa(), lowered by the environment variable MONOQUANT_ISA (read once). A forced tier
/// the CPU lacks falls back to best_isa().
Isa active_isa();

/// Parses "scalar", "avx2", "avxvnni", "avx512vnni" or "amx"; returns false for anything else.
bool parse_isa(const char* text, Isa* out);

/// min(requested, best): the tier actually used when `requested` is forced. A null or invalid
/// request yields `best`.
Isa resolve_isa(const char* requested, Isa best);

/// True when the running CPU can execute kernels of tier `isa`.
bool isa_supported(Isa isa);

/// Lower-case name of a tier ("scalar", "avx2", "avxvnni", "avx512vnni", "amx").
const char* isa_name(Isa isa);

}  // namespace mq::kernels
