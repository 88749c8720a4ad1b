// monoquant bench: latency percentiles and throughput on random inputs; two models are run
// interleaved (so both see the same machine load) and compared by their medians.
#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "engine/api.h"
#include "ir/error.h"
#include "kernels/cpu_features.h"
#include "kernels/qgemm.h"
#include "tools/common.h"

namespace mq::cli {

namespace {

struct BenchArgs {
  std::vector<std::string> models;
  int threads = 0;
  int64_t batch = 1;
  int iterations = 50;
  int warmup = 5;
  std::vector<std::string> shapes;
  bool json = false;
  bool profile = false;
};

/// Random inputs in the model's input shapes: the first symbolic dim is --batch, other
/// symbolic dims need a --shape override. Floats in [0, 1), integers in [0, 10).
TensorMap random_inputs(const Graph& g, const BenchArgs& a, std::mt19937& rng) {
  std::map<std::string, std::vector<int64_t>> overrides;
  for (const auto& s : a.shapes) {
    auto [name, dims] = split_assignment(s, "--shape");
    overrides[name] = parse_dims(dims);
  }
  TensorMap out;
  for (const Value* in : g.inputs()) {
    std::vector<int64_t> dims;
    auto it = overrides.find(in->name());
    if (it != overrides.end()) {
      dims = it->second;
    } else {
      if (!in->shape().has_rank())
        throw UsageError("input '" + in->name() + "' has an unknown rank: give --shape " + in->name() + "=DIMS");
      for (size_t d = 0; d < in->shape().rank(); ++d) {
        const Dim& dim = in->shape()[d];
        if (dim.is_static()) dims.push_back(dim.value);
        else if (d == 0) dims.push_back(a.batch);
        else
          throw UsageError("input '" + in->name() + "' " + in->shape().str() + " has symbolic dim '" + dim.str() +
                           "': give its shape as --shape " + in->name() + "=" + "DxDx...");
      }
    }
    Tensor t(in->dtype(), dims);
    size_t n = size_t(t.numel());
    std::uniform_real_distribution<float> uf(0.f, 1.f);
    std::uniform_int_distribution<int> ui(0, 9);
    switch (in->dtype()) {
      case DType::f32:
        for (size_t i = 0; i < n; ++i) t.data<float>()[i] = uf(rng);
        break;
      case DType::f64:
        for (size_t i = 0; i < n; ++i) t.data<double>()[i] = uf(rng);
        break;
      case DType::u8:
        for (size_t i = 0; i < n; ++i) t.data<uint8_t>()[i] = uint8_t(ui(rng));
        break;
      case DType::i8:
        for (size_t i = 0; i < n; ++i) t.data<int8_t>()[i] = int8_t(ui(rng));
        break;
      case DType::i32:
        for (size_t i = 0; i < n; ++i) t.data<int32_t>()[i] = ui(rng);
        break;
      case DType::i64:
        for (size_t i = 0; i < n; ++i) t.data<int64_t>()[i] = ui(rng);
        break;
      case DType::boolean:
        for (size_t i = 0; i < n; ++i) t.data<bool>()[i] = ui(rng) & 1;
        break;
      default:
        fail<UnsupportedError>("input '", in->name(), "': random ", dtype_name(in->dtype()),
                               " data is not supported");
    }
    out[in->name()] = t;
  }
  for (const auto& [name, dims] : overrides)
    if (!g.find_value(name) ||
        std::find(g.inputs().begin(), g.inputs().end(), g.find_value(name)) == g.inputs().end())
      throw UsageError("--shape " + name + ": the model has no input named '" + name + "'");
  return out;
}

struct Stats {
  double p50 = 0, p90 = 0, p99 = 0, mean = 0, min = 0;
};

Stats stats_of(std::vector<double> ms) {
  Stats s;
  if (ms.empty()) return s;
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) {
    size_t i = size_t(std::ceil(p / 100.0 * double(ms.size())));
    return ms[std::min(ms.size() - 1, i ? i - 1 : 0)];
  };
  s.p50 = pct(50);
  s.p90 = pct(90);
  s.p99 = pct(99);
  s.min = ms.front();
  double sum = 0;
  for (double v : ms) sum += v;
  s.mean = sum / double(ms.size());
  return s;
}

int bench_models(const BenchArgs& a) {
  struct Entry {
    std::string path;
    std::unique_ptr<Session> session;
    TensorMap inputs;
    std::vector<double> ms;
    int64_t rows = 1;
  };
  std::vector<Entry> es;
  std::mt19937 rng(12345);
  for (const auto& path : a.models) {
    Graph g = load_model(path);
    Entry e;
    e.path = path;
    e.inputs = random_inputs(g, a, rng);
    e.rows = e.inputs.empty() ? 1 : batch_rows(g, e.inputs);
    e.session = std::make_unique<Session>(g, SessionOptions{.threads = a.threads, .profile = a.profile});
    es.push_back(std::move(e));
  }
  note("benchmarking " + std::to_string(a.iterations) + " iterations" + (es.size() > 1 ? " (interleaved)" : "") +
       " after " + std::to_string(a.warmup) + " warm-up runs, " + std::to_string(es[0].session->threads()) +
       " threads, int8 kernels " + kernels::isa_name(kernels::active_isa()) + " (" + kernels::qgemm_active().name +
       "; MONOQUANT_ISA lowers the tier)");
  for (int i = 0; i < a.warmup; ++i)
    for (auto& e : es) e.session->run(e.inputs);
  for (auto& e : es) e.session->reset_profile();
  Progress progress("bench", false);
  for (int i = 0; i < a.iterations; ++i) {
    for (auto& e : es) {
      auto t0 = std::chrono::steady_clock::now();
      e.session->run(e.inputs);
      e.ms.push_back(seconds_since(t0) * 1000.0);
    }
    progress.update(i + 1, a.iterations);
  }
  progress.finish();

  nlohmann::json js;
  js["threads"] = es[0].session->threads();
  js["isa"] = kernels::isa_name(kernels::active_isa());
  js["iterations"] = a.iterations;
  js["models"] = nlohmann::json::array();
  std::vector<Stats> st;
  for (auto& e : es) {
    Stats s = stats_of(e.ms);
    st.push_back(s);
    js["models"].push_back({{"model", e.path},
                            {"batch", e.rows},
                            {"p50_ms", s.p50},
                            {"p90_ms", s.p90},
                            {"p99_ms", s.p99},
                            {"mean_ms", s.mean},
                            {"min_ms", s.min},
                            {"throughput_per_s", s.mean > 0 ? double(e.rows) * 1000.0 / s.mean : 0.0}});
  }
  if (es.size() == 2 && st[1].p50 > 0) js["speedup_p50"] = st[0].p50 / st[1].p50;
  if (a.profile)
    for (size_t i = 0; i < es.size(); ++i) {
      const Profile p = es[i].session->profile();
      nlohmann::json ops = nlohmann::json::array(), steps = nlohmann::json::array();
      for (const auto& o : p.by_op())
        ops.push_back({{"op", o.op}, {"ms", o.ms / double(p.runs)}, {"steps", o.count}});
      for (const auto& st : p.steps)
        steps.push_back({{"node", st.node}, {"op", st.op}, {"ms", st.ms / double(p.runs)}});
      js["models"][i]["profile"] = {{"ms_per_run", p.run_ms / double(p.runs)},
                                    {"session_ms", p.overhead_ms() / double(p.runs)},
                                    {"by_op", ops},
                                    {"steps", steps}};
    }
  if (a.json) {
    std::cout << js.dump(2) << '\n';
    return kOk;
  }
  std::ostringstream s;
  size_t w = 5;
  for (auto& e : es) w = std::max(w, e.path.size());
  auto pad = [](std::string t, size_t n) { return std::string(n > t.size() ? n - t.size() : 0, ' ') + t; };
  s << "model" << std::string(w - 5, ' ') << pad("batch", 7) << pad("p50 ms", 10) << pad("p90 ms", 10)
    << pad("p99 ms", 10) << pad("samples/s", 12) << '\n';
  for (size_t i = 0; i < es.size(); ++i)
    s << es[i].path << std::string(w - es[i].path.size(), ' ') << pad(std::to_string(es[i].rows), 7)
      << pad(fixed(st[i].p50, 3), 10) << pad(fixed(st[i].p90, 3), 10) << pad(fixed(st[i].p99, 3), 10)
      << pad(fixed(st[i].mean > 0 ? double(es[i].rows) * 1000.0 / st[i].mean : 0.0, 1), 12) << '\n';
  if (es.size() == 2 && st[1].p50 > 0)
    s << "speedup (p50 of the first / p50 of the second): " << fixed(st[0].p50 / st[1].p50, 2) << "x\n";
  if (a.profile)
    for (auto& e : es)
      s << "\n" << e.path << " (timed runs; the profile's clock adds a little):\n" << e.session->profile().str();
  std::cout << s.str();
  return kOk;
}

}  // namespace

void add_bench_command(CLI::App& app, Runner& run) {
  auto a = std::make_shared<BenchArgs>();
  auto* cmd = app.add_subcommand("bench", "Latency and throughput of a model, or of two side by side");
  cmd->add_option("models", a->models, "One model, or two (e.g. fp32 and int8) run interleaved")
      ->required()
      ->expected(1, 2);
  add_threads_option(cmd, a->threads);
  cmd->add_option("-b,--batch", a->batch, "Size of a symbolic batch dimension")->check(CLI::PositiveNumber);
  cmd->add_option("-n,--iterations", a->iterations, "Timed runs per model")->check(CLI::PositiveNumber);
  cmd->add_option("--warmup", a->warmup, "Untimed runs first")->check(CLI::NonNegativeNumber);
  cmd->add_option("--shape", a->shapes, "Input shape override NAME=1x28x28 (repeatable)")->allow_extra_args(false);
  cmd->add_flag("--json", a->json, "Print the result as JSON");
  cmd->add_flag("--profile", a->profile, "Also print the time per op type and the slowest steps");
  cmd->callback([a, &run] { run = [a] { return bench_models(*a); }; });
}

}  // namespace mq::cli
