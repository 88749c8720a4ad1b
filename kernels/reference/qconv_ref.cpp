#include "kernels/reference/qconv_ref.h"

#include "kernels/qgemm_internal.h"

namespace mq::kernels::reference {
using namespace qgemm_detail;

void qconv(const QConvShape& s, const QGemmParams& epi, const std::uint8_t* x, const std::int8_t* w, void* y) {
  const std::size_t oh = s.out_h(), ow = s.out_w(), cg = s.in_c / s.groups, og = s.out_c / s.groups;
  QGemmParams p = epi;
  p.c = y;
  p.ldc = s.out_c;
  for (std::size_t b = 0; b < s.batch; ++b)
    for (std::size_t oy = 0; oy < oh; ++oy)
      for (std::size_t ox = 0; ox < ow; ++ox) {
        const std::size_t pix = (b * oh + oy) * ow + ox;
        for (std::size_t oc = 0; oc < s.out_c; ++oc) {
          const std::size_t g = oc / og;
          std::int32_t acc = 0;
          for (std::size_t ky = 0; ky < s.kh; ++ky)
            for (std::size_t kx = 0; kx < s.kw; ++kx) {
              const long iy = long(oy * s.stride_h + ky * s.dil_h) - long(s.pad_t);
              const long ix = long(ox * s.stride_w + kx * s.dil_w) - long(s.pad_l);
              const bool inside = iy >= 0 && ix >= 0 && iy < long(s.in_h) && ix < long(s.in_w);
              for (std::size_t c = 0; c < cg; ++c) {
                const std::int32_t a =
                    inside ? x[((b * s.in_h + iy) * s.in_w + ix) * s.in_c + g * cg + c] : epi.a_zp;
                acc = wrap_add(acc, wrap_mul(a - epi.a_zp, w[((oc * s.kh + ky) * s.kw + kx) * cg + c]));
              }
            }
          if (epi.bias32) acc = wrap_add(acc, epi.bias32[oc]);
          store_one(p, pix, oc, acc);
        }
      }
}

}  // namespace mq::kernels::reference
