// qlstm_sequence vs an fp32 LSTM built from kernels::sgemm, batch 1, input = hidden = H:
// one step (T = 1) and a whole sequence (T = 32). Both are single-threaded kernels. Also
// every tier this CPU has (lstm/int8__<tier>/...).
#include <cmath>
#include <string>
#include <vector>

#include "bench_common.h"
#include "kernels/qgemm.h"
#include "kernels/qlstm.h"
#include "kernels/sgemm.h"

using namespace mq;
using namespace mq::bench;

namespace {

std::string bench_name(const char* impl, std::size_t t, std::size_t h) {
  return std::string("lstm/") + impl + "/T" + std::to_string(t) + "_H" + std::to_string(h) +
         "/threads:" + std::to_string(bench_threads());
}

// GOPS over 4H·(In + H) MACs per step, and microseconds per time step.
void set_lstm_counters(benchmark::State& st, std::size_t t, std::size_t h) {
  set_counters(st, double(t) * 4 * h * (h + h));
  st.counters["us_per_step"] = benchmark::Counter(
      double(t) * 1e-6, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

// wmax = 127: full-range weights; 63: 7-bit weights (AVX2 fast path, see bench_qgemm).
// isa: the tier qlstm_sequence runs.
void bm_int8_ours(benchmark::State& st, std::size_t t, std::size_t h, int wmax, kernels::Isa isa) {
  const std::size_t g = 4 * h;
  std::vector<std::int8_t> w(g * h), r(g * h);
  fill(w.data(), w.size(), -wmax, wmax);
  fill(r.data(), r.size(), -wmax, wmax);
  Buffer<std::uint8_t> pw(kernels::qgemm_packed_size(g, h)), pr(kernels::qgemm_packed_size(g, h));
  kernels::qgemm_pack_b(w.data(), h, g, h, pw.get());
  kernels::qgemm_pack_b(r.data(), h, g, h, pr.get());
  std::vector<float> ws(g, 0.5f / wmax / std::sqrt(float(h))), bias(g);
  fill(bias.data(), g, -0.1, 0.1);
  kernels::QLstmParams p;
  p.seq_len = t;
  p.batch = 1;
  p.input_size = h;
  p.hidden = h;
  p.packed_w = pw.get();
  p.w_scale = ws.data();
  p.packed_r = pr.get();
  p.r_scale = ws.data();
  p.bias = bias.data();
  Buffer<float> x(t * h), y(t * h), h_out(h), c_out(h);
  fill(x.get(), t * h, -1, 1);
  Buffer<std::uint8_t> scratch(kernels::qlstm_scratch_size(p) + 64);
  for (auto _ : st) {
    kernels::qlstm_sequence(p, x.get(), nullptr, nullptr, y.get(), h_out.get(), c_out.get(), scratch.get(), isa);
    benchmark::ClobberMemory();
  }
  set_lstm_counters(st, t, h);
  st.SetLabel(kernels::qgemm_select(isa).name);
}

float sigmoid(float v) { return 1.f / (1.f + std::exp(-v)); }

// X·Wᵀ for all steps as one sgemm (as qlstm does with qgemm), per step h·Rᵀ accumulated
// into the gates, then a scalar gates/c/h loop (ONNX gate order i, o, f, c).
void bm_fp32_ours(benchmark::State& st, std::size_t t, std::size_t h) {
  const std::size_t g = 4 * h;
  Buffer<float> w(g * h), r(g * h), bias(g), x(t * h), gates(t * g), hs(h), cs(h), y(t * h);
  const double a = 1.0 / std::sqrt(double(h));
  fill(w.get(), g * h, -a, a);
  fill(r.get(), g * h, -a, a);
  fill(bias.get(), g, -0.1, 0.1);
  fill(x.get(), t * h, -1, 1);
  for (auto _ : st) {
    kernels::sgemm(0, t, g, h, x.get(), h, w.get(), h, bias.get(), gates.get(), g);
    std::fill(hs.get(), hs.get() + h, 0.f);
    std::fill(cs.get(), cs.get() + h, 0.f);
    for (std::size_t s = 0; s < t; ++s) {
      float* gt = gates.get() + s * g;
      kernels::sgemm(0, 1, g, h, hs.get(), h, r.get(), h, nullptr, gt, g, /*accumulate=*/true);
      for (std::size_t j = 0; j < h; ++j) {
        const float i = sigmoid(gt[j]), o = sigmoid(gt[h + j]), f = sigmoid(gt[2 * h + j]);
        const float c = f * cs.get()[j] + i * std::tanh(gt[3 * h + j]);
        cs.get()[j] = c;
        hs.get()[j] = o * std::tanh(c);
      }
      std::copy_n(hs.get(), h, y.get() + s * h);
    }
    benchmark::ClobberMemory();
  }
  set_lstm_counters(st, t, h);
  st.SetLabel("sgemm + scalar gates");
}

}  // namespace

int main(int argc, char** argv) {
  for (std::size_t t : {std::size_t(1), std::size_t(32)}) {
    for (std::size_t h : {std::size_t(256), std::size_t(512)}) {
      const kernels::Isa active = kernels::active_isa();
      benchmark::RegisterBenchmark(bench_name("int8_ours", t, h).c_str(), bm_int8_ours, t, h, 127, active)
          ->UseRealTime();
      benchmark::RegisterBenchmark(bench_name("int8_ours_w7", t, h).c_str(), bm_int8_ours, t, h, 63, active)
          ->UseRealTime();
      benchmark::RegisterBenchmark(bench_name("fp32_ours", t, h).c_str(), bm_fp32_ours, t, h)->UseRealTime();
    }
  }
  for (kernels::Isa isa : kernels::supported_tiers())
    benchmark::RegisterBenchmark(bench_name(tier_impl(isa).c_str(), 32, 256).c_str(), bm_int8_ours,
                                 std::size_t(32), std::size_t(256), 127, isa)
        ->UseRealTime();
  add_context();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
