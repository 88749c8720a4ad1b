#include "kernels/fp32/pool_dnnl.h"

#include <oneapi/dnnl/dnnl.hpp>

#include "kernels/fp32/dnnl_util.h"

namespace mq::kernels {

struct DnnlPool::Impl {
  dnnl::engine eng = dnnl_cpu();
  dnnl::pooling_v2_forward prim;
  dnnl::memory::desc src_md, dst_md, scratch_md;
  int threads = 1;
};

DnnlPool::DnnlPool() : impl_(std::make_unique<Impl>()) {}
DnnlPool::~DnnlPool() = default;

std::unique_ptr<DnnlPool> DnnlPool::create(const PoolParams& p, int64_t batch, int64_t channels, bool is_max,
                                           bool nhwc, int threads) {
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  // a window past the input's end (pads, ceil_mode) counts in an average only with
  // count_include_pad, and then ONNX counts the pads it was given, not the ceil_mode overhang
  const int64_t over_h =
      (p.out[1] - 1) * p.stride[1] + (p.kernel[1] - 1) * p.dilation[1] + 1 - p.in[1] - p.pad_begin[1];
  const int64_t over_w =
      (p.out[2] - 1) * p.stride[2] + (p.kernel[2] - 1) * p.dilation[2] + 1 - p.in[2] - p.pad_begin[2];
  if (!is_max && p.count_include_pad && (over_h != p.pad_end[1] || over_w != p.pad_end[2])) return nullptr;
  try {
    std::unique_ptr<DnnlPool> c(new DnnlPool());
    Impl& s = *c->impl_;
    s.threads = threads < 1 ? 1 : threads;
    omp_set_num_threads(s.threads);
    const tag t = nhwc ? tag::nhwc : tag::nchw;
    s.src_md = dnnl::memory::desc({batch, channels, p.in[1], p.in[2]}, dt::f32, t);
    s.dst_md = dnnl::memory::desc({batch, channels, p.out[1], p.out[2]}, dt::f32, t);
    const auto alg = is_max ? dnnl::algorithm::pooling_max
                            : (p.count_include_pad ? dnnl::algorithm::pooling_avg_include_padding
                                                   : dnnl::algorithm::pooling_avg_exclude_padding);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::pooling_v2_forward::desc d(dnnl::prop_kind::forward_inference, alg, s.src_md, s.dst_md,
                                     {p.stride[1], p.stride[2]}, {p.kernel[1], p.kernel[2]},
                                     {p.dilation[1] - 1, p.dilation[2] - 1}, {p.pad_begin[1], p.pad_begin[2]},
                                     {std::max<int64_t>(over_h, 0), std::max<int64_t>(over_w, 0)});
    dnnl::pooling_v2_forward::primitive_desc pd(d, attr, s.eng);
    s.scratch_md = pd.scratchpad_desc();
    s.prim = dnnl::pooling_v2_forward(pd);
    return c;
  } catch (...) {
    return nullptr;
  }
}

bool DnnlPool::run(const float* x, float* y) const {
  const Impl& s = *impl_;
  try {
    return dnnl_execute(this, s.prim,
                        {{DNNL_ARG_SRC, nullptr, &s.src_md, x}, {DNNL_ARG_DST, nullptr, &s.dst_md, y}},
                        s.scratch_md, s.threads);
  } catch (...) {
    return false;
  }
}

}  // namespace mq::kernels
