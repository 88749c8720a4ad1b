// Quantization kernel list, selection and parameter choice.
#include "kernels/quant.h"

#include <algorithm>
#include <cmath>

#include "kernels/reference/quant_ref.h"
#include "kernels/variant_table.h"

namespace mq::kernels {

const QuantKernels& quant_kernels_avx2();
const QuantKernels& quant_kernels_avx512();

std::span<const QuantVariant> quant_variants() {
  // The one list of quantization variants (VNNI adds nothing here: AVX-VNNI CPUs without
  // AVX-512 use the AVX2 table).
  static const QuantVariant variants[] = {
      {"quant__scalar", Isa::scalar, &reference::quant_kernels()},
      {"quant__avx2", Isa::avx2, &quant_kernels_avx2()},
      {"quant__avx512", Isa::avx512, &quant_kernels_avx512()},
  };
  return variants;
}

const QuantVariant& quant_select(Isa isa) { return select_variant(quant_variants(), isa); }

const QuantKernels& quant_active() {
  static const QuantKernels& k = *quant_select(active_isa()).kernels;
  return k;
}

QuantAffine choose_u8_params(float x_min, float x_max) {
  x_min = std::min(x_min, 0.0f);
  x_max = std::max(x_max, 0.0f);
  if (!std::isfinite(x_min) || !std::isfinite(x_max)) x_min = x_max = 0.0f;
  QuantAffine q;
  q.scale = std::max((x_max - x_min) / 255.0f, 1e-8f);
  const float zp = std::nearbyint(-x_min / q.scale);
  q.zero_point = static_cast<std::int32_t>(std::clamp(zp, 0.0f, 255.0f));
  return q;
}

}  // namespace mq::kernels
