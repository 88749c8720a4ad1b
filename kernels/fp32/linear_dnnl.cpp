#include "kernels/fp32/linear_dnnl.h"

#include <map>
#include <mutex>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "kernels/fp32/dnnl_util.h"

namespace mq::kernels {

namespace {
using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;
}  // namespace

/// One matmul primitive per M (oneDNN's fastest kernels want M fixed); the weights are
/// reordered once per layout the primitives ask for (in practice one for every M).
struct DnnlLinear::Impl {
  dnnl::engine eng = dnnl_cpu();
  const float* user_w = nullptr;
  dnnl::memory bias;
  int64_t n = 0, k = 0;
  int threads = 1;
  dnnl::post_ops post;
  struct Prim {
    dnnl::matmul prim;
    dnnl::memory weights;
    dnnl::memory::desc scratch_md;
    dnnl::memory::desc x_md, y_md;  // [M×K], [M×N] row-major
  };
  mutable std::mutex mutex;
  mutable std::map<int64_t, std::shared_ptr<Prim>> prims;
  mutable std::vector<dnnl::memory> packed;  // reordered weights, one per layout

  std::shared_ptr<Prim> get(int64_t m) const {
    std::lock_guard<std::mutex> lock(mutex);
    auto& slot = prims[m];
    if (slot) return slot;
    omp_set_num_threads(threads);  // oneDNN sizes the primitive for the threads it will run on
    auto p = std::make_shared<Prim>();
    dnnl::memory::desc x_md({m, k}, dt::f32, tag::ab), y_md({m, n}, dt::f32, tag::ab);
    dnnl::memory::desc any_w_md({k, n}, dt::f32, tag::any), b_md({1, n}, dt::f32, tag::ab);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    attr.set_post_ops(post);
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(x_md, any_w_md, b_md, y_md), attr, eng);
    p->scratch_md = pd.scratchpad_desc();
    p->x_md = x_md;
    p->y_md = y_md;
    p->prim = dnnl::matmul(pd);
    for (const auto& mem : packed)
      if (mem.get_desc() == pd.weights_desc()) p->weights = mem;
    if (!p->weights) {
      dnnl::stream st(eng);
      // W [N×K] row-major is Wᵀ [K×N] column-major
      dnnl::memory user(dnnl::memory::desc({k, n}, dt::f32, tag::ba), eng, const_cast<float*>(user_w));
      p->weights = dnnl::memory(pd.weights_desc(), eng);
      dnnl::reorder(user, p->weights).execute(st, user, p->weights);
      st.wait();
      packed.push_back(p->weights);
    }
    slot = p;
    return p;
  }
};

DnnlLinear::DnnlLinear() : impl_(std::make_unique<Impl>()) {}
DnnlLinear::~DnnlLinear() = default;

std::unique_ptr<DnnlLinear> DnnlLinear::create(int64_t n, int64_t k, const float* w, const float* bias,
                                               const LayerEpilogue& e, int threads) {
  try {
    std::unique_ptr<DnnlLinear> l(new DnnlLinear());
    Impl& s = *l->impl_;
    if (!dnnl_post_ops(e, s.post)) return nullptr;
    s.threads = threads < 1 ? 1 : threads;
    s.user_w = w;
    s.n = n;
    s.k = k;
    s.bias = dnnl::memory(dnnl::memory::desc({1, n}, dt::f32, tag::ab), s.eng);
    float* bp = static_cast<float*>(s.bias.get_data_handle());
    for (int64_t i = 0; i < n; ++i) bp[i] = bias ? bias[i] : 0.f;
    return l;
  } catch (...) {
    return nullptr;
  }
}

bool DnnlLinear::run(int64_t m, const float* x, float* y) const {
  const Impl& s = *impl_;
  try {
    auto p = s.get(m);
    return dnnl_execute(p.get(), p->prim,
                        {{DNNL_ARG_SRC, nullptr, &p->x_md, x},
                         {DNNL_ARG_WEIGHTS, &p->weights},
                         {DNNL_ARG_BIAS, &s.bias},
                         {DNNL_ARG_DST, nullptr, &p->y_md, y}},
                        p->scratch_md, s.threads);
  } catch (...) {
    return false;
  }
}

}  // namespace mq::kernels
