// qconv vs our fp32 conv vs oneDNN int8 convolution on three layers at 56×56 (batch 1):
// 3×3 64→64 pad 1, 1×1 64→256, depthwise 3×3 on 128 channels pad 1; and two first layers
// with small reductions (5×5 1→64 at 224×224, 3×3 3→32 at 112×112). Also every tier this
// CPU has on the dense layers (conv/int8__<tier>/...) and every depthwise variant it has on
// the depthwise one (conv/qconv_dw__<isa>/...).
#include <algorithm>
#include <string>
#include <vector>

#include "bench_common.h"
#include "kernels/fp32/conv.h"
#include "kernels/qconv.h"
#include "kernels/sgemm.h"
#ifdef MQ_HAVE_DNNL
#include <oneapi/dnnl/dnnl.hpp>
#endif

using namespace mq;
using namespace mq::bench;

namespace {

struct Layer {
  const char* name;
  std::size_t hw, cin, cout, k, pad, groups;
};

kernels::QConvShape qshape(const Layer& l) {
  kernels::QConvShape s;
  s.in_h = s.in_w = l.hw;
  s.in_c = l.cin;
  s.out_c = l.cout;
  s.kh = s.kw = l.k;
  s.pad_t = s.pad_l = s.pad_b = s.pad_r = l.pad;
  s.groups = l.groups;
  return s;
}

double macs(const Layer& l) {
  const auto s = qshape(l);
  return double(s.out_h() * s.out_w()) * l.cout * l.k * l.k * (l.cin / l.groups);
}

std::string bench_name(const char* impl, const Layer& l) {
  return std::string("conv/") + impl + "/" + l.name + "/threads:" + std::to_string(bench_threads());
}

// Output pixel ranges split over the pool, as the engine's QLinearConv does.
// wmax = 127: full-range weights; 63: 7-bit weights (AVX2 fast path, see bench_qgemm).
// isa: the tier qconv runs; dw: a depthwise variant run directly instead (or null).
void bm_int8_ours(benchmark::State& st, Layer l, int wmax, kernels::Isa isa, const kernels::QConvDwVariant* dw) {
  const auto s = qshape(l);
  const std::size_t pixels = s.out_h() * s.out_w();
  const std::size_t kdim = l.k * l.k * (l.cin / l.groups);
  Buffer<std::uint8_t> x(l.hw * l.hw * l.cin), y(pixels * l.cout);
  std::vector<std::int8_t> w(l.cout * kdim);
  fill(x.get(), l.hw * l.hw * l.cin, 0, 255);
  fill(w.data(), w.size(), -wmax, wmax);
  Buffer<std::uint8_t> packed(kernels::qconv_packed_size(s));
  kernels::qconv_pack(s, w.data(), packed.get());
  const std::size_t tasks = std::min(pool().size(), std::max<std::size_t>(1, pixels / 64));
  const std::size_t scratch_per = (std::max<std::size_t>(64, kernels::qconv_scratch_size(s, isa)) + 63) / 64 * 64;
  Buffer<std::uint8_t> scratch(scratch_per * tasks);
  std::vector<std::int32_t> bias(l.cout, 100);
  std::vector<float> mult(l.cout, 1e-4f);
  kernels::QGemmParams epi;
  epi.output = kernels::QGemmOutput::u8;
  epi.a_zp = 3;
  epi.bias32 = bias.data();
  epi.per_channel = true;
  epi.multiplier = mult.data();
  epi.out_zp = 128;
  auto body = [&](std::size_t t) {
    if (dw) dw->fn(s, epi, x.get(), packed.get(), y.get(), pixels * t / tasks, pixels * (t + 1) / tasks);
    else
      kernels::qconv(s, epi, x.get(), packed.get(), y.get(), scratch.get() + t * scratch_per, pixels * t / tasks,
                     pixels * (t + 1) / tasks, isa);
  };
  for (auto _ : st) {
    if (tasks > 1) pool().parallel_for(tasks, body);
    else body(0);
    benchmark::ClobberMemory();
  }
  set_counters(st, macs(l));
  if (l.groups > 1) st.SetLabel(dw ? dw->name : kernels::qconv_dw_select(isa).name);
  else st.SetLabel(std::string(kernels::qgemm_select(isa).name) + " " + kernels::qconv_select(isa).name);
}

// NHWC im2col of output pixels [p0, p1): col[p − p0][(i·kw + j)·Cin + ci] (0 outside).
void im2col_nhwc(const Layer& l, const float* x, std::size_t p0, std::size_t p1, float* col) {
  const std::size_t ow = l.hw, kdim = l.k * l.k * l.cin;
  for (std::size_t p = p0; p < p1; ++p) {
    const long oy = long(p / ow), ox = long(p % ow);
    float* row = col + (p - p0) * kdim;
    for (std::size_t i = 0; i < l.k; ++i)
      for (std::size_t j = 0; j < l.k; ++j) {
        const long iy = oy - long(l.pad) + long(i), ix = ox - long(l.pad) + long(j);
        float* dst = row + (i * l.k + j) * l.cin;
        if (iy < 0 || ix < 0 || iy >= long(l.hw) || ix >= long(l.hw)) std::fill(dst, dst + l.cin, 0.f);
        else std::copy_n(x + (std::size_t(iy) * l.hw + std::size_t(ix)) * l.cin, l.cin, dst);
      }
  }
}

// Dense convs: NHWC im2col (timed) + kernels::sgemm, pixel ranges split over the pool;
// 1×1 is sgemm directly on the input.
void bm_fp32_ours(benchmark::State& st, Layer l) {
  const std::size_t pixels = l.hw * l.hw, kdim = l.k * l.k * l.cin;
  const bool direct = l.k == 1 && l.pad == 0;
  Buffer<float> x(pixels * l.cin), w(l.cout * kdim), y(pixels * l.cout);
  fill(x.get(), pixels * l.cin, -1, 1);
  fill(w.get(), l.cout * kdim, -1, 1);
  const std::size_t tasks = std::min(pool().size(), std::max<std::size_t>(1, pixels / 64));
  const std::size_t chunk = (pixels + tasks - 1) / tasks;
  Buffer<float> col(direct ? 1 : chunk * kdim * tasks);
  auto body = [&](std::size_t t) {
    const std::size_t p0 = pixels * t / tasks, p1 = pixels * (t + 1) / tasks;
    if (direct) {
      kernels::sgemm(p0, p1, l.cout, kdim, x.get(), kdim, w.get(), kdim, nullptr, y.get(), l.cout);
    } else {
      float* c = col.get() + t * chunk * kdim;
      im2col_nhwc(l, x.get(), p0, p1, c);
      kernels::sgemm(0, p1 - p0, l.cout, kdim, c, kdim, w.get(), kdim, nullptr, y.get() + p0 * l.cout, l.cout);
    }
  };
  for (auto _ : st) {
    if (tasks > 1) pool().parallel_for(tasks, body);
    else body(0);
    benchmark::ClobberMemory();
  }
  set_counters(st, macs(l));
  st.SetLabel(direct ? "sgemm" : "im2col+sgemm");
}

// Depthwise: the fp32 engine's own path, kernels::conv2d_f32 (NCHW, one Eigen GEMM per
// group); it is single-threaded, so it is registered for 1 thread only.
void bm_fp32_engine_dw(benchmark::State& st, Layer l) {
  kernels::Conv2dParams p;
  p.c = p.m = p.group = std::int64_t(l.cin);
  p.h = p.w = p.oh = p.ow = std::int64_t(l.hw);
  p.kh = p.kw = std::int64_t(l.k);
  p.pad_top = p.pad_left = std::int64_t(l.pad);
  const std::size_t n = l.hw * l.hw * l.cin;
  Buffer<float> x(n), w(l.cin * l.k * l.k), y(n), scratch(kernels::conv2d_scratch_floats(p) + 1);
  fill(x.get(), n, -1, 1);
  fill(w.get(), l.cin * l.k * l.k, -1, 1);
  for (auto _ : st) {
    kernels::conv2d_f32(p, x.get(), w.get(), nullptr, y.get(), scratch.get());
    benchmark::ClobberMemory();
  }
  set_counters(st, macs(l));
  st.SetLabel("conv2d_f32 (1 thread)");
}

#ifdef MQ_HAVE_DNNL
void bm_int8_onednn(benchmark::State& st, Layer l) {
  using namespace dnnl;
  using dt = memory::data_type;
  using tag = memory::format_tag;
  if (!onednn_threads_match(st)) return;
  engine eng(engine::kind::cpu, 0);
  stream strm(eng);
  const memory::dim C = l.cin, O = l.cout, HW = l.hw, K = l.k, P = l.pad, G = l.groups;
  memory::desc src_md({1, C, HW, HW}, dt::u8, tag::nhwc), dst_md({1, O, HW, HW}, dt::u8, tag::nhwc);
  memory::dims wdims = G > 1 ? memory::dims{G, O / G, C / G, K, K} : memory::dims{O, C, K, K};
  memory::desc wu_md(wdims, dt::s8, G > 1 ? tag::goihw : tag::oihw), w_md(wdims, dt::s8, tag::any);
  primitive_attr attr;
  attr.set_output_scales(2, std::vector<float>(l.cout, 1e-4f));
  convolution_forward::desc d(prop_kind::forward_inference, algorithm::convolution_direct, src_md, w_md, dst_md,
                              {1, 1}, {P, P}, {P, P});
  convolution_forward::primitive_desc pd(d, attr, eng);
  memory X(src_md, eng), Wu(wu_md, eng), W(pd.weights_desc(), eng), Y(dst_md, eng);
  fill(static_cast<std::uint8_t*>(X.get_data_handle()), l.hw * l.hw * l.cin, 0, 255);
  fill(static_cast<std::int8_t*>(Wu.get_data_handle()), wu_md.get_size(), -127, 127);
  reorder(Wu, W).execute(strm, Wu, W);  // weight packing, once
  convolution_forward prim(pd);
  for (auto _ : st) {
    prim.execute(strm, {{DNNL_ARG_SRC, X}, {DNNL_ARG_WEIGHTS, W}, {DNNL_ARG_DST, Y}});
    strm.wait();
  }
  set_counters(st, macs(l));
  st.SetLabel(pd.impl_info_str());
}
#endif

}  // namespace

int main(int argc, char** argv) {
  const Layer layers[] = {{"3x3_64to64_56x56", 56, 64, 64, 3, 1, 1},
                          {"1x1_64to256_56x56", 56, 64, 256, 1, 0, 1},
                          {"dw3x3_128_56x56", 56, 128, 128, 3, 1, 128},
                          // small reductions (first layers): super_resolution's 5×5 1→64, an RGB stem
                          {"5x5_1to64_224x224", 224, 1, 64, 5, 2, 1},
                          {"3x3_3to32_112x112", 112, 3, 32, 3, 1, 1}};
  for (const Layer& l : layers) {
    const kernels::Isa active = kernels::active_isa();
    const kernels::QConvDwVariant* none = nullptr;
    benchmark::RegisterBenchmark(bench_name("int8_ours", l).c_str(), bm_int8_ours, l, 127, active, none)
        ->UseRealTime();
    benchmark::RegisterBenchmark(bench_name("int8_ours_w7", l).c_str(), bm_int8_ours, l, 63, active, none)
        ->UseRealTime();
    if (l.groups == 1)
      benchmark::RegisterBenchmark(bench_name("fp32_ours", l).c_str(), bm_fp32_ours, l)->UseRealTime();
    else if (bench_threads() == 1)
      benchmark::RegisterBenchmark(bench_name("fp32_ours", l).c_str(), bm_fp32_engine_dw, l)->UseRealTime();
  }
  // Every tier (dense layers) and depthwise variant (the depthwise layer) this CPU has.
  for (const Layer& l : layers) {
    if (l.groups == 1) {
      for (kernels::Isa isa : kernels::supported_tiers())
        benchmark::RegisterBenchmark(bench_name(tier_impl(isa).c_str(), l).c_str(), bm_int8_ours, l, 127, isa,
                                     static_cast<const kernels::QConvDwVariant*>(nullptr))
            ->UseRealTime();
    } else {
      for (const kernels::QConvDwVariant* v : kernels::supported_variants(kernels::qconv_dw_variants()))
        benchmark::RegisterBenchmark(bench_name(v->name, l).c_str(), bm_int8_ours, l, 127, v->isa, v)
            ->UseRealTime();
    }
  }
#ifdef MQ_HAVE_DNNL
  // oneDNN last: its OpenMP workers keep spinning after each call and would take the core
  // that monoquant's second thread needs.
  for (const Layer& l : layers)
    benchmark::RegisterBenchmark(bench_name("int8_onednn", l).c_str(), bm_int8_onednn, l)->UseRealTime();
#endif
  add_context();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
