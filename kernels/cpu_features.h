// CPU feature detection (CPUID + XGETBV) and the ISA tier used to select kernels.
#pragma once

namespace mq::kernels {

/// ISA tiers, lowest first: the one list of tiers. Every kernel family's variant table tags
/// each variant with the tier it needs, and a family picks its best variant at or below the
/// active tier. The order is a preference, not a feature chain: avx512 (F/BW/VL/DQ, fp32 and
/// element-wise kernels) sits below avxvnni (ymm vpdpbusd, the better int8 GEMM), and a CPU
/// may have either without the other. tests/CMakeLists.txt reads the names from this line
/// (one ctest rerun per tier), so keep it on one line.
enum class Isa { scalar, avx2, avx512, avxvnni, avx512vnni, amx };

/// Number of tiers in Isa.
inline constexpr int isa_count = static_cast<int>(Isa::amx) + 1;

/// Every tier, lowest first (what tests and benchmarks iterate).
inline constexpr Isa isa_tiers[isa_count] = {Isa::scalar,  Isa::avx2,       Isa::avx512,
                                             Isa::avxvnni, Isa::avx512vnni, Isa::amx};

/// Raw CPU features relevant to monoquant's kernels (OS support for the registers included).
struct CpuFeatures {
  bool avx2 = false;        ///< AVX2 and FMA, with YMM state enabled by the OS.
  bool avx512 = false;      ///< AVX512 F, BW, VL and DQ, with ZMM state enabled by the OS.
  bool avx512vnni = false;  ///< AVX512_VNNI (vpdpbusd on zmm).
  bool avxvnni = false;     ///< AVX_VNNI (VEX-encoded vpdpbusd on ymm).
  bool avx512vbmi = false;  ///< AVX512_VBMI (vpermi2b: 128-byte table lookups), with avx512.
  bool amx = false;         ///< AMX-TILE + AMX-INT8 with tile state enabled and granted by
                            ///< the OS (Linux: arch_prctl ARCH_REQ_XCOMP_PERM), plus avx512vnni.
};

/// Features of the running CPU, detected once.
const CpuFeatures& cpu_features();

/// The highest tier the running CPU supports.
Isa best_isa();

/// best_isa(), lowered by the environment variable MONOQUANT_ISA (read once). A forced tier
/// the CPU lacks falls back to the next lower tier it has.
Isa active_isa();

/// Parses a tier's name (isa_name); returns false for anything else.
bool parse_isa(const char* text, Isa* out);

/// min(requested, best): the tier actually used when `requested` is forced. A null or invalid
/// request yields `best`.
Isa resolve_isa(const char* requested, Isa best);

/// True when the running CPU can execute kernels of tier `isa`.
bool isa_supported(Isa isa);

/// Lower-case name of a tier, as in the enum ("scalar", "avx2", "avx512", ...).
const char* isa_name(Isa isa);

}  // namespace mq::kernels
