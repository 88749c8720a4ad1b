#include "kernels/fp32/dnnl_util.h"

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

bool dnnl_execute(const dnnl::primitive& prim, std::unordered_map<int, dnnl::memory> args,
                  const dnnl::memory::desc& scratch, int threads) {
  omp_set_num_threads(threads);
  try {
    args[DNNL_ARG_SCRATCHPAD] = dnnl::memory(scratch, dnnl_cpu(), dnnl_thread_scratch(scratch.get_size()));
    dnnl::stream& st = dnnl_thread_stream();
    prim.execute(st, args);
    st.wait();
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace mq::kernels
