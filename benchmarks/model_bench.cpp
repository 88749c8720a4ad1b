// mq_model_bench: measures one model with monoquant's public API, for the comparison
// harness (benchmarks/compare/compare.py) and for anyone who wants the numbers by hand.
//
//   mq_model_bench quantize --model M.onnx --calib CALIB [--eval X.npy|X.npz] [--eval-batch N]
//                           [--out-dir DIR] [--dynamic] [--threads N]
//     Calibrates on CALIB (.npy/.npz/.pb/folder, every sample), static-quantizes with the
//     default options (validation on the calibration samples, failures reported not thrown),
//     optionally dynamic-quantizes too, saves DIR/int8.mqm (and DIR/dynamic.mqm), runs the
//     fp32 and int8 models on the eval inputs and writes DIR/{fp32,int8,dynamic}.npz (one
//     array per model output, rows concatenated). Prints JSON: seconds per stage, peak RSS
//     (getrusage) before and after calibration + quantization, the QuantizationInfo.
//
//   mq_model_bench serve --model M.onnx --input X.npy|X.npz [--int8 Q.mqm] [--dynamic D.mqm]
//     Reads commands from stdin, one per line, and answers one JSON line each, so that a
//     driver can interleave monoquant's runs with another runtime's. Variant fp32 is the
//     --model file as it is (an int8 ONNX file made by another tool runs as its ops say):
//       run <fp32|int8|dynamic> <batch> <threads> <iterations> <warmup>
//         → {"ms":[...]}   (wall time of each Session::run; inputs are rows of X, cycled
//                           to fill the batch; one Session per variant and thread count)
//       eval <fp32|int8|dynamic> <batch> <threads> <OUT.npz>
//         → {"rows":N}     (runs every row of X in chunks of <batch>, writes each output
//                           to OUT.npz, rows concatenated along dim 0)
//       quit
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "engine/api.h"
#include "engine/quantize.h"
#include "serialization/npy.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

/// Peak resident set size of this process so far, in MiB: VmHWM from /proc/self/status
/// (getrusage's ru_maxrss survives execve on Linux, so a child started by a big Python
/// process would report the parent's peak), else ru_maxrss.
double peak_rss_mib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // kB
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_maxrss) / 1024.0;
}

/// Rows [start, start + count) of `t` along dim 0, cycling through its rows.
mq::Tensor rows_cycled(const mq::Tensor& t, int64_t start, int64_t count) {
  std::vector<int64_t> dims = t.dims();
  int64_t n = dims.at(0);
  size_t row_bytes = n ? t.nbytes() / size_t(n) : 0;
  dims[0] = count;
  mq::Tensor out(t.dtype(), dims);
  auto* dst = static_cast<std::byte*>(out.raw());
  const auto* src = static_cast<const std::byte*>(t.raw());
  for (int64_t r = 0; r < count; ++r)
    std::memcpy(dst + size_t(r) * row_bytes, src + size_t((start + r) % n) * row_bytes, row_bytes);
  return out;
}

/// Concatenates tensors along dim 0.
mq::Tensor concat_rows(const std::vector<mq::Tensor>& parts) {
  std::vector<int64_t> dims = parts.at(0).dims();
  if (dims.empty()) return parts[0];
  int64_t rows = 0;
  for (auto& p : parts) rows += p.dim(0);
  dims[0] = rows;
  mq::Tensor out(parts[0].dtype(), dims);
  auto* dst = static_cast<std::byte*>(out.raw());
  for (auto& p : parts) {
    std::memcpy(dst, p.raw(), p.nbytes());
    dst += p.nbytes();
  }
  return out;
}

/// Reads model inputs from a .npy (single-input model) or .npz (arrays named after inputs).
mq::TensorMap read_inputs(const std::string& path, const mq::Graph& g) {
  mq::TensorMap m;
  if (path.size() > 4 && path.substr(path.size() - 4) == ".npz") {
    auto arrays = mq::serialization::load_npz(path);
    if (arrays.size() == 1 && g.inputs().size() == 1) {
      m[g.inputs()[0]->name()] = arrays.begin()->second;
    } else {
      for (auto& [k, v] : arrays) m[k] = v;
    }
  } else {
    if (g.inputs().size() != 1) throw std::runtime_error(path + ": a .npy needs a single-input model; use .npz");
    m[g.inputs()[0]->name()] = mq::serialization::load_npy(path);
  }
  return m;
}

int64_t row_count(const mq::TensorMap& m) { return m.begin()->second.dim(0); }

mq::TensorMap slice(const mq::TensorMap& m, int64_t start, int64_t count) {
  mq::TensorMap out;
  for (auto& [k, v] : m) out[k] = rows_cycled(v, start, count);
  return out;
}

/// Runs `s` over every eval row in chunks of `batch`; returns each output, rows concatenated.
std::map<std::string, mq::Tensor> run_eval(mq::Session& s, const mq::TensorMap& inputs, int64_t batch) {
  std::map<std::string, std::vector<mq::Tensor>> parts;
  int64_t n = row_count(inputs);
  for (int64_t i = 0; i < n; i += batch) {
    int64_t c = std::min(batch, n - i);
    for (auto& [k, v] : s.run(slice(inputs, i, c))) parts[k].push_back(v.clone());
  }
  std::map<std::string, mq::Tensor> out;
  for (auto& [k, v] : parts) out[k] = concat_rows(v);
  return out;
}

bool has_dynamic_layers(const mq::Graph& g) {
  for (const auto* n : g.nodes()) {
    if (n->op() == mq::OpKind::LSTM || n->op() == mq::OpKind::Linear) return true;
  }
  return false;
}

struct Args {
  std::string cmd, model, calib, eval, out_dir = ".", input, int8, dynamic, observer = "minmax";
  int64_t eval_batch = 250;
  int threads = 0;
  bool want_dynamic = false;
  bool int8_outputs = false;
  bool float_output_assembly = false;
};

Args parse(int argc, char** argv) {
  Args a;
  if (argc < 2) throw std::runtime_error("usage: mq_model_bench quantize|serve --model M.onnx ...");
  a.cmd = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string k = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(k + " needs a value");
      return argv[++i];
    };
    if (k == "--model") a.model = val();
    else if (k == "--calib") a.calib = val();
    else if (k == "--eval") a.eval = val();
    else if (k == "--eval-batch") a.eval_batch = std::stoll(val());
    else if (k == "--out-dir") a.out_dir = val();
    else if (k == "--threads") a.threads = std::stoi(val());
    else if (k == "--dynamic") {
      if (a.cmd == "serve") a.dynamic = val();
      else a.want_dynamic = true;
    } else if (k == "--input") a.input = val();
    else if (k == "--int8") a.int8 = val();
    else if (k == "--observer") a.observer = val();
    else if (k == "--int8-outputs") a.int8_outputs = true;
    else if (k == "--float-output-assembly") a.float_output_assembly = true;
    else throw std::runtime_error("unknown option " + k);
  }
  if (a.model.empty()) throw std::runtime_error("--model is required");
  return a;
}

int quantize_cmd(const Args& a) {
  json r;
  fs::create_directories(a.out_dir);
  r["rss_mib_at_start"] = peak_rss_mib();
  auto t0 = Clock::now();
  mq::Graph g = mq::load_model(a.model);
  r["load_s"] = seconds_since(t0);
  mq::FileSource calib(g, {a.calib});
  r["calibration_samples"] = calib.sample_count();
  r["rss_mib_after_load"] = peak_rss_mib();

  t0 = Clock::now();
  mq::Calibration cal =
      mq::calibrate(g, calib, {.observer = mq::make_observer(a.observer)->options(), .threads = a.threads});
  r["calibrate_s"] = seconds_since(t0);
  mq::QuantizeOptions opt;  // defaults, except: report failed checks, don't throw
  opt.on_failure = mq::OnFailure::warn;
  opt.threads = a.threads;
  opt.int8_outputs = a.int8_outputs;
  opt.float_output_assembly = a.float_output_assembly;
  calib.rewind();
  auto t1 = Clock::now();
  mq::QuantizeResult q = mq::static_quantize(g, cal, opt, &calib);
  r["quantize_s"] = seconds_since(t1);
  r["calibrate_quantize_s"] = seconds_since(t0);
  r["peak_rss_mib"] = peak_rss_mib();
  r["static_info"] = json::parse(q.info.json());
  mq::save_model(q.graph, (fs::path(a.out_dir) / "int8.mqm").string());

  std::optional<mq::QuantizeResult> d;
  if (a.want_dynamic && has_dynamic_layers(g)) {
    calib.rewind();
    auto t2 = Clock::now();
    d = mq::dynamic_quantize(g, opt, &calib);
    r["dynamic_quantize_s"] = seconds_since(t2);
    r["dynamic_info"] = json::parse(d->info.json());
    mq::save_model(d->graph, (fs::path(a.out_dir) / "dynamic.mqm").string());
  }

  if (!a.eval.empty()) {
    mq::TensorMap inputs = read_inputs(a.eval, g);
    auto t3 = Clock::now();
    mq::Session s32(g, {.threads = a.threads});
    mq::serialization::save_npz((fs::path(a.out_dir) / "fp32.npz").string(), run_eval(s32, inputs, a.eval_batch));
    mq::Session s8(q.graph, {.threads = a.threads});
    mq::serialization::save_npz((fs::path(a.out_dir) / "int8.npz").string(), run_eval(s8, inputs, a.eval_batch));
    if (d) {
      mq::Session sd(d->graph, {.threads = a.threads});
      mq::serialization::save_npz((fs::path(a.out_dir) / "dynamic.npz").string(),
                                  run_eval(sd, inputs, a.eval_batch));
    }
    r["eval_rows"] = row_count(inputs);
    r["eval_s"] = seconds_since(t3);
  }
  std::cout << r.dump() << std::endl;
  return 0;
}

int serve_cmd(const Args& a) {
  std::map<std::string, mq::Graph> graphs;
  graphs.emplace("fp32", mq::load_model(a.model));
  if (!a.int8.empty()) graphs.emplace("int8", mq::load_model(a.int8));
  if (!a.dynamic.empty()) graphs.emplace("dynamic", mq::load_model(a.dynamic));
  mq::TensorMap data = read_inputs(a.input, graphs.at("fp32"));
  std::map<std::pair<std::string, int>, std::unique_ptr<mq::Session>> sessions;
  std::cout << json{{"ready", true}}.dump() << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd, variant;
    int64_t batch = 1, iters = 10, warmup = 2;
    int threads = 1;
    in >> cmd;
    if (cmd == "quit") break;
    json r;
    try {
      if (cmd != "run" && cmd != "eval") throw std::runtime_error("unknown command " + cmd);
      std::string out_path;
      in >> variant >> batch >> threads;
      if (cmd == "run") in >> iters >> warmup;
      else std::getline(in >> std::ws, out_path);
      if (!in && cmd == "run") throw std::runtime_error("usage: run VARIANT BATCH THREADS ITERATIONS WARMUP");
      if (batch < 1) throw std::runtime_error("batch must be at least 1");
      if (cmd == "eval" && out_path.empty()) throw std::runtime_error("usage: eval VARIANT BATCH THREADS OUT.npz");
      auto g = graphs.find(variant);
      if (g == graphs.end()) throw std::runtime_error("no model for variant " + variant);
      auto& s = sessions[{variant, threads}];
      if (!s) s = std::make_unique<mq::Session>(g->second, mq::SessionOptions{.threads = threads});
      if (cmd == "eval") {
        mq::serialization::save_npz(out_path, run_eval(*s, data, batch));
        r["rows"] = row_count(data);
      } else {
        mq::TensorMap x = slice(data, 0, batch);
        for (int64_t i = 0; i < warmup; ++i) s->run(x);
        std::vector<double> ms;
        for (int64_t i = 0; i < iters; ++i) {
          auto t0 = Clock::now();
          s->run(x);
          ms.push_back(seconds_since(t0) * 1e3);
        }
        r["ms"] = ms;
      }
    } catch (const std::exception& e) {
      r["error"] = e.what();
    }
    std::cout << r.dump() << std::endl;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Args a = parse(argc, argv);
    if (a.cmd == "quantize") return quantize_cmd(a);
    if (a.cmd == "serve") return serve_cmd(a);
    throw std::runtime_error("unknown command " + a.cmd + " (quantize or serve)");
  } catch (const std::exception& e) {
    std::cerr << "mq_model_bench: error: " << e.what() << "\n";
    std::cout << json{{"error", e.what()}}.dump() << std::endl;
    return 3;
  }
}
