#include "kernels/fp32/conv_dnnl.h"

#include <utility>

#include <oneapi/dnnl/dnnl.hpp>

#include "kernels/fp32/dnnl_util.h"

namespace mq::kernels {

struct DnnlConv::Impl {
  dnnl::engine eng = dnnl_cpu();
  dnnl::convolution_forward prim;
  dnnl::memory::desc src_md, dst_md, scratch_md;
  dnnl::memory weights, bias;
  int threads = 1;
};

DnnlConv::DnnlConv() : impl_(std::make_unique<Impl>()) {}
DnnlConv::~DnnlConv() = default;

std::unique_ptr<DnnlConv> DnnlConv::create(const Conv2dParams& given, bool nhwc, const float* w, const float* bias,
                                           const LayerEpilogue& e, int threads) {
  // A 1-D convolution along H (W = kW = 1, e.g. a Conv1d imported with W = 1) is the same
  // computation, with the same memory layout of input, output and weights, as one along W,
  // which oneDNN's direct kernels run several times faster: swap the spatial dims.
  Conv2dParams p = given;
  if (p.w == 1 && p.kw == 1 && p.ow == 1 && p.pad_left == 0 && p.h > 1) {
    std::swap(p.h, p.w);
    std::swap(p.kh, p.kw);
    std::swap(p.oh, p.ow);
    std::swap(p.stride_h, p.stride_w);
    std::swap(p.dil_h, p.dil_w);
    std::swap(p.pad_top, p.pad_left);
  }
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  try {
    std::unique_ptr<DnnlConv> c(new DnnlConv());
    Impl& s = *c->impl_;
    s.threads = threads < 1 ? 1 : threads;
    omp_set_num_threads(s.threads);
    const tag act_tag = nhwc ? tag::nhwc : tag::nchw;
    s.src_md = dnnl::memory::desc({p.n, p.c, p.h, p.w}, dt::f32, act_tag);
    s.dst_md = dnnl::memory::desc({p.n, p.m, p.oh, p.ow}, dt::f32, act_tag);
    const int64_t cg = p.c / p.group, mg = p.m / p.group;
    dnnl::memory::desc user_w_md = p.group == 1
                                       ? dnnl::memory::desc({p.m, p.c, p.kh, p.kw}, dt::f32, tag::oihw)
                                       : dnnl::memory::desc({p.group, mg, cg, p.kh, p.kw}, dt::f32, tag::goihw);
    dnnl::memory::desc any_w_md = p.group == 1
                                      ? dnnl::memory::desc({p.m, p.c, p.kh, p.kw}, dt::f32, tag::any)
                                      : dnnl::memory::desc({p.group, mg, cg, p.kh, p.kw}, dt::f32, tag::any);
    dnnl::memory::desc b_md({p.m}, dt::f32, tag::a);
    // trailing pads follow from the output size
    const int64_t pad_bottom = (p.oh - 1) * p.stride_h + (p.kh - 1) * p.dil_h + 1 - p.h - p.pad_top;
    const int64_t pad_right = (p.ow - 1) * p.stride_w + (p.kw - 1) * p.dil_w + 1 - p.w - p.pad_left;
    dnnl::post_ops po;
    if (!dnnl_post_ops(e, po)) return nullptr;
    dnnl::primitive_attr attr;
    attr.set_post_ops(po);
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                      s.src_md, any_w_md, b_md, s.dst_md, {p.stride_h, p.stride_w},
                                      {p.dil_h - 1, p.dil_w - 1}, {p.pad_top, p.pad_left},
                                      {std::max<int64_t>(pad_bottom, 0), std::max<int64_t>(pad_right, 0)});
    dnnl::convolution_forward::primitive_desc pd(d, attr, s.eng);
    s.scratch_md = pd.scratchpad_desc();
    s.prim = dnnl::convolution_forward(pd);
    dnnl::stream st(s.eng);
    dnnl::memory user_w(user_w_md, s.eng, const_cast<float*>(w));
    s.weights = dnnl::memory(pd.weights_desc(), s.eng);
    dnnl::reorder(user_w, s.weights).execute(st, user_w, s.weights);
    s.bias = dnnl::memory(b_md, s.eng);
    float* bp = static_cast<float*>(s.bias.get_data_handle());
    for (int64_t i = 0; i < p.m; ++i) bp[i] = bias ? bias[i] : 0.f;
    st.wait();
    return c;
  } catch (const dnnl::error&) {
    return nullptr;
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}

bool DnnlConv::run(const float* x, float* y) const {
  const Impl& s = *impl_;
  try {
    return dnnl_execute(this, s.prim,
                        {{DNNL_ARG_SRC, nullptr, &s.src_md, x},
                         {DNNL_ARG_WEIGHTS, &s.weights},
                         {DNNL_ARG_BIAS, &s.bias},
                         {DNNL_ARG_DST, nullptr, &s.dst_md, y}},
                        s.scratch_md, s.threads);
  } catch (...) {
    return false;
  }
}

}  // namespace mq::kernels
