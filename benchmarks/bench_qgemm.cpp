// qgemm vs our fp32 GEMM vs oneDNN int8 matmul on shapes of real layers (M×N×K), and every
// qgemm and sgemm variant this CPU has on a subset of them (gemm/<variant name>/...).
#include <vector>

#include "bench_common.h"
#include "kernels/qgemm.h"
#include "kernels/sgemm.h"
#ifdef MQ_HAVE_DNNL
#include <oneapi/dnnl/dnnl.hpp>
#endif

using namespace mq;
using namespace mq::bench;

namespace {

struct Shape {
  std::size_t m, n, k;
};

// wmax = 127: full-range weights (on AVX2 most blocks take the exact split path);
// wmax = 63: 7-bit weights, where vpmaddubsw cannot saturate (the AVX2 fast path).
// v: the variant to run (null: the active one, as the engine does).
void bm_int8_ours(benchmark::State& st, Shape s, int wmax, const kernels::QGemmVariant* v) {
  const kernels::QGemmVariant& variant = v ? *v : kernels::qgemm_active();
  Buffer<std::uint8_t> a(s.m * s.k);
  std::vector<std::int8_t> w(s.n * s.k);
  fill(a.get(), s.m * s.k, 0, 255);
  fill(w.data(), w.size(), -wmax, wmax);
  Buffer<std::uint8_t> packed(kernels::qgemm_packed_size(s.n, s.k));
  kernels::qgemm_pack_b(w.data(), s.k, s.n, s.k, packed.get());
  Buffer<std::uint8_t> c(s.m * s.n);
  std::vector<std::int32_t> bias(s.n, 100);
  std::vector<float> mult(s.n, 1e-4f);
  kernels::QGemmParams p;
  p.m = s.m;
  p.n = s.n;
  p.k = s.k;
  p.a = a.get();
  p.lda = s.k;
  p.a_zp = 3;
  p.packed_b = packed.get();
  p.output = kernels::QGemmOutput::u8;
  p.c = c.get();
  p.ldc = s.n;
  p.bias32 = bias.data();
  p.per_channel = true;
  p.multiplier = mult.data();
  p.out_zp = 128;
  for (auto _ : st) {
    kernels::qgemm_parallel(pool(), p, variant);
    benchmark::ClobberMemory();
  }
  set_counters(st, double(s.m) * s.n * s.k);
  st.SetLabel(variant.name);
}

// fn: the sgemm variant to run (null: kernels::sgemm, oneDNN's sgemm or the active variant).
void bm_fp32_eigen(benchmark::State& st, Shape s, kernels::SGemmFn fn) {
  if (!fn) fn = kernels::sgemm;
  Buffer<float> a(s.m * s.k), w(s.n * s.k), c(s.m * s.n);
  fill(a.get(), s.m * s.k, -1, 1);
  fill(w.get(), s.n * s.k, -1, 1);
  const std::size_t threads = pool().size();
  for (auto _ : st) {
    if (threads == 1 || s.m < 2 * threads) {
      fn(0, s.m, s.n, s.k, a.get(), s.k, w.get(), s.k, nullptr, c.get(), s.n, false);
    } else {
      const std::size_t step = (s.m + threads - 1) / threads;
      pool().parallel_for(threads, [&](std::size_t t) {
        const std::size_t m0 = t * step, m1 = std::min(s.m, m0 + step);
        if (m0 < m1) fn(m0, m1, s.n, s.k, a.get(), s.k, w.get(), s.k, nullptr, c.get(), s.n, false);
      });
    }
    benchmark::ClobberMemory();
  }
  set_counters(st, double(s.m) * s.n * s.k);
}

#ifdef MQ_HAVE_DNNL
void bm_int8_onednn(benchmark::State& st, Shape s) {
  using namespace dnnl;
  using dt = memory::data_type;
  using tag = memory::format_tag;
  if (!onednn_threads_match(st)) return;
  engine eng(engine::kind::cpu, 0);
  stream strm(eng);
  const memory::dim M = s.m, N = s.n, K = s.k;
  memory::desc a_md({M, K}, dt::u8, tag::ab), wu_md({K, N}, dt::s8, tag::ba), w_md({K, N}, dt::s8, tag::any),
      c_md({M, N}, dt::u8, tag::ab);
  primitive_attr attr;
  attr.set_output_scales(2, std::vector<float>(s.n, 1e-4f));
  matmul::primitive_desc pd(matmul::desc(a_md, w_md, c_md), attr, eng);
  memory A(a_md, eng), Wu(wu_md, eng), W(pd.weights_desc(), eng), C(c_md, eng);
  fill(static_cast<std::uint8_t*>(A.get_data_handle()), s.m * s.k, 0, 255);
  fill(static_cast<std::int8_t*>(Wu.get_data_handle()), s.n * s.k, -127, 127);
  reorder(Wu, W).execute(strm, Wu, W);  // weight packing, once
  matmul prim(pd);
  for (auto _ : st) {
    prim.execute(strm, {{DNNL_ARG_SRC, A}, {DNNL_ARG_WEIGHTS, W}, {DNNL_ARG_DST, C}});
    strm.wait();
  }
  set_counters(st, double(s.m) * s.n * s.k);
  st.SetLabel(pd.impl_info_str());
}
#endif

}  // namespace

int main(int argc, char** argv) {
  const Shape shapes[] = {{256, 256, 256}, {512, 512, 512},  {1024, 1024, 1024}, {2048, 2048, 2048},
                          {128, 768, 768}, {128, 3072, 768}, {3136, 64, 576},    {4, 1024, 1024},
                          {1, 1024, 256},  {1, 1024, 1024},  {1, 2048, 512},     {1, 1024, 256},
                          {1, 2048, 512}};  // the last two: LSTM step 4H×H, H = 256, 512
  for (std::size_t i = 0; i < std::size(shapes) - 2; ++i) {
    const Shape s = shapes[i];
    benchmark::RegisterBenchmark(shape_name("gemm", "int8_ours", s.m, s.n, s.k).c_str(), bm_int8_ours, s, 127,
                                 nullptr)
        ->UseRealTime();
    benchmark::RegisterBenchmark(shape_name("gemm", "int8_ours_w7", s.m, s.n, s.k).c_str(), bm_int8_ours, s, 63,
                                 nullptr)
        ->UseRealTime();
    benchmark::RegisterBenchmark(shape_name("gemm", "fp32_eigen", s.m, s.n, s.k).c_str(), bm_fp32_eigen, s,
                                 nullptr)
        ->UseRealTime();
  }
  // Every variant this CPU has (the scalar ones included), on shapes small enough for them.
  const Shape variant_shapes[] = {
      {256, 256, 256}, {128, 768, 768}, {3136, 64, 576}, {4, 1024, 1024}, {1, 1024, 1024}};
  for (const Shape& s : variant_shapes) {
    for (const kernels::QGemmVariant* v : kernels::supported_variants(kernels::qgemm_variants()))
      benchmark::RegisterBenchmark(shape_name("gemm", v->name, s.m, s.n, s.k).c_str(), bm_int8_ours, s, 127, v)
          ->UseRealTime();
    for (const kernels::SGemmVariant* v : kernels::supported_variants(kernels::sgemm_variants()))
      benchmark::RegisterBenchmark(shape_name("gemm", v->name, s.m, s.n, s.k).c_str(), bm_fp32_eigen, s, v->fn)
          ->UseRealTime();
  }
#ifdef MQ_HAVE_DNNL
  // oneDNN last: its OpenMP workers keep spinning after each call and would take the core
  // that monoquant's second thread needs.
  for (std::size_t i = 0; i < std::size(shapes) - 2; ++i) {
    const Shape s = shapes[i];
    benchmark::RegisterBenchmark(shape_name("gemm", "int8_onednn", s.m, s.n, s.k).c_str(), bm_int8_onednn, s)
        ->UseRealTime();
  }
#endif
  add_context();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
