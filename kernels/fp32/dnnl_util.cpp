#include "kernels/fp32/dnnl_util.h"

#include "kernels/openmp_team.h"

#include <functional>
#include <unordered_map>

namespace mq::kernels {

namespace {

bool append_activation(dnnl::post_ops& po, const LayerEpilogue& e) {
  using A = dnnl::algorithm;
  switch (e.act) {
    case LayerActivation::none: return true;
    case LayerActivation::relu: po.append_eltwise(1.f, A::eltwise_relu, 0.f, 0.f); return true;
    case LayerActivation::leaky_relu: po.append_eltwise(1.f, A::eltwise_relu, e.alpha, 0.f); return true;
    case LayerActivation::clip: po.append_eltwise(1.f, A::eltwise_clip_v2, e.alpha, e.beta); return true;
    case LayerActivation::sigmoid: po.append_eltwise(1.f, A::eltwise_logistic, 0.f, 0.f); return true;
    case LayerActivation::tanh: po.append_eltwise(1.f, A::eltwise_tanh, 0.f, 0.f); return true;
    case LayerActivation::silu: po.append_eltwise(1.f, A::eltwise_swish, 1.f, 0.f); return true;
    case LayerActivation::hard_swish: po.append_eltwise(1.f, A::eltwise_hardswish, 0.f, 0.f); return true;
    case LayerActivation::hard_sigmoid:
      po.append_eltwise(1.f, A::eltwise_linear, e.alpha, e.beta);
      po.append_eltwise(1.f, A::eltwise_clip_v2, 0.f, 1.f);
      return true;
    case LayerActivation::gelu: po.append_eltwise(1.f, A::eltwise_gelu_erf, 0.f, 0.f); return true;
    case LayerActivation::gelu_tanh: po.append_eltwise(1.f, A::eltwise_gelu_tanh, 0.f, 0.f); return true;
  }
  return false;
}

}  // namespace

bool dnnl_post_ops(const LayerEpilogue& e, dnnl::post_ops& po) {
  if (e.residual && e.residual_first) po.append_sum(1.f);
  if (!append_activation(po, e)) return false;
  if (e.residual && !e.residual_first) po.append_sum(1.f);
  return true;
}

namespace {

/// The calling thread's memory object for argument `id` of `owner`'s runs, pointed at
/// `data`: made on first use, and again when the layout differs (a new owner at a freed
/// one's address).
dnnl_memory_t thread_memory(const void* owner, int id, const dnnl::memory::desc& md, void* data) {
  struct Key {
    const void* owner;
    int id;
    bool operator==(const Key& o) const { return owner == o.owner && id == o.id; }
  };
  struct Hash {
    size_t operator()(const Key& k) const { return std::hash<const void*>()(k.owner) * 31 + size_t(k.id); }
  };
  thread_local std::unordered_map<Key, dnnl::memory, Hash> cache;
  if (cache.size() > 4096) cache.clear();  // owners come and go with Sessions: keep it bounded
  dnnl::memory& m = cache[Key{owner, id}];
  if (!m || m.get_desc() != md) m = dnnl::memory(md, dnnl_cpu(), data);
  else m.set_data_handle(data);
  return m.get();
}

}  // namespace

bool dnnl_execute(const void* owner, const dnnl::primitive& prim, std::initializer_list<DnnlArg> args,
                  const dnnl::memory::desc& scratch, int threads) {
  omp_set_num_threads(threads);
  try {
    dnnl_exec_arg_t a[8];
    int n = 0;
    for (const DnnlArg& x : args) {
      if (n == 7) return false;
      a[n++] = {x.id, x.mem ? x.mem->get() : thread_memory(owner, x.id, *x.md, const_cast<void*>(x.data))};
    }
    a[n++] = {DNNL_ARG_SCRATCHPAD,
              thread_memory(owner, DNNL_ARG_SCRATCHPAD, scratch, dnnl_thread_scratch(scratch.get_size()))};
    dnnl::stream& st = dnnl_thread_stream();
    if (dnnl_primitive_execute(prim.get(), st.get(), n, a) != dnnl_success) return false;
    const bool ok = dnnl_stream_wait(st.get()) == dnnl_success;
    note_team_region(threads);
    return ok;
  } catch (...) {
    return false;
  }
}

}  // namespace mq::kernels
