#pragma once
// Constant weights of fp32 Linear and recurrent layers packed once for sgemm_panels
// (kernels/sgemm_panels.h), and when a product takes that path.
#include <memory>
#include <vector>

#include "engine/ops/plan_cache.h"
#include "ir/tensor.h"
#include "kernels/fp32/linear_dnnl.h"
#include "kernels/sgemm_panels.h"

namespace mq::ops {

/// Floats on 64-byte aligned storage: a panel's rows are whole cache lines (a std::vector's
/// 16-byte alignment splits every load of the panel kernels across two lines).
struct AlignedFloats {
  std::shared_ptr<Storage> s;
  void resize(size_t n) { s = Storage::allocate(n * sizeof(float)); }
  float* data() const { return s ? reinterpret_cast<float*>(s->data()) : nullptr; }
  bool empty() const { return !s; }
};

/// Constant weights packed once for sgemm_panels.
struct PanelWeights {
  AlignedFloats packed;
};

/// What a Linear or recurrent layer keeps for the Session: oneDNN matmuls (one per thread
/// count, or per direction and matrix) and panel-packed weights (keyed the same way).
struct LinearState {
  PlanCache<kernels::DnnlLinear> dnnl;
  PlanCache<PanelWeights> panels;
  std::vector<float> wt;  ///< a mask input's (bool) weight, transposed to [in, out]
};

/// Rows at most this many, over weights of at least this many bytes (beyond the L2 cache):
/// the product is bound by reading the weights, which sgemm_panels streams once in order
/// (a batch-1 Linear, an RNN's input projection and steps). Larger products go to oneDNN.
inline constexpr int64_t kPanelMaxRows = 24;
inline constexpr int64_t kPanelMinWeightBytes = int64_t(1) << 20;

inline bool use_panels(int64_t m, int64_t n, int64_t k) {
  return m <= kPanelMaxRows && n * k * int64_t(sizeof(float)) >= kPanelMinWeightBytes &&
         kernels::sgemm_panels_active().isa != kernels::Isa::scalar;
}

inline bool use_step_panels(int64_t rows) {
  return rows <= kPanelMaxRows && kernels::sgemm_panels_active().isa != kernels::Isa::scalar;
}

inline std::shared_ptr<PanelWeights> pack_panels(LinearState& st, const std::vector<int64_t>& key, const float* w,
                                                 int64_t n, int64_t k) {
  return st.panels.get(key, [&] {
    auto p = std::make_unique<PanelWeights>();
    p->packed.resize(kernels::sgemm_panels_packed_floats(size_t(n), size_t(k)));
    kernels::sgemm_panels_pack(w, size_t(n), size_t(k), size_t(k), p->packed.data());
    return p;
  });
}

}  // namespace mq::ops
