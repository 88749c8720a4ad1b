// monoquant run: runs a model once on inputs read from .npy / .npz files.
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/api.h"
#include "ir/error.h"
#include "serialization/npy.h"
#include "tools/common.h"

namespace mq::cli {

namespace {

struct RunArgs {
  std::string model;
  std::vector<std::string> inputs;
  std::string output;
  int threads = 0;
  int values = 8;
  double scale = 1.0;
  bool json = false;
};

/// Reads --input arguments ("NAME=FILE.npy", "FILE.npy" for one-input models, or
/// "FILE.npz" with arrays named after the inputs) into the model's inputs.
TensorMap read_inputs(const Graph& g, const std::vector<std::string>& args, double scale) {
  TensorMap out;
  auto find_input = [&](const std::string& name) -> const Value& {
    for (const Value* v : g.inputs())
      if (v->name() == name) return *v;
    std::string names;
    for (const Value* v : g.inputs()) names += (names.empty() ? "" : ", ") + v->name();
    throw UsageError("--input " + name + ": the model has no input named '" + name + "' (inputs: " + names + ")");
  };
  for (const auto& arg : args) {
    std::string name, file;
    auto eq = arg.find('=');
    if (eq != std::string::npos) {
      name = arg.substr(0, eq);
      file = arg.substr(eq + 1);
    } else {
      file = arg;
    }
    std::string ext = serialization::file_extension(file);
    if (ext == ".npz" && name.empty()) {
      auto arrays = serialization::load_npz(file);
      for (auto& [key, t] : arrays) {
        const Value* in = nullptr;
        for (const Value* v : g.inputs())
          if (v->name() == key) in = v;
        if (!in && g.inputs().size() == 1 && arrays.size() == 1) in = g.inputs()[0];
        if (!in) fail<InvalidArgument>(file, ": array '", key, "' matches no model input");
        out[in->name()] = prepare_array(t, *in, scale, file);
      }
      continue;
    }
    if (ext != ".npy")
      throw UsageError("--input " + arg + ": expected a .npy file (or NAME=FILE.npy, or an .npz)");
    if (name.empty()) {
      if (g.inputs().size() != 1)
        throw UsageError("--input " + arg + ": the model has " + std::to_string(g.inputs().size()) +
                         " inputs; name them as NAME=FILE.npy");
      name = g.inputs()[0]->name();
    }
    const Value& in = find_input(name);
    out[name] = prepare_array(serialization::load_npy(file), in, scale, file);
  }
  for (const Value* v : g.inputs())
    if (!out.count(v->name()))
      throw UsageError("no --input given for model input '" + v->name() + "' " + v->type().str());
  return out;
}

int run_model(const RunArgs& a) {
  if (!a.output.empty()) {
    require_extension(a.output, {".npz", ".npy"}, "output");
    std::vector<std::string> read = a.inputs;  // the output must not overwrite anything read
    read.push_back(a.model);
    check_output_path(a.output, read);
  }
  Graph g = load_model(a.model);
  TensorMap inputs = read_inputs(g, a.inputs, a.scale);
  Session session(g, {.threads = a.threads});
  auto t0 = std::chrono::steady_clock::now();
  TensorMap outputs = session.run(inputs);
  double secs = seconds_since(t0);
  detail("ran in " + fixed(secs * 1000, 3) + " ms");

  if (!a.output.empty()) {
    if (serialization::file_extension(a.output) == ".npy") {
      if (outputs.size() != 1)
        throw UsageError(a.output + ": the model has " + std::to_string(outputs.size()) +
                         " outputs; write them to an .npz");
      serialization::save_npy(a.output, outputs.begin()->second);
    } else {
      serialization::save_npz(a.output, std::map<std::string, Tensor>(outputs.begin(), outputs.end()));
    }
    note("wrote " + std::to_string(outputs.size()) + " output(s) to " + a.output);
    return kOk;
  }
  nlohmann::json js = nlohmann::json::array();
  for (const auto& name : session.output_names()) {
    const Tensor& t = outputs.at(name);
    std::vector<double> v = to_doubles(t);
    size_t n = std::min(v.size(), size_t(std::max(a.values, 0)));
    if (a.json) {
      js.push_back({{"name", name},
                    {"dtype", std::string(dtype_name(t.dtype()))},
                    {"shape", t.dims()},
                    {"values", std::vector<double>(v.begin(), v.begin() + long(n))}});
      continue;
    }
    std::ostringstream s;
    s << name << "  " << dtype_name(t.dtype()) << ' ' << dims_str(t.dims()) << "  ";
    for (size_t i = 0; i < n; ++i) s << (i ? " " : "") << fixed(v[i], 4);
    if (n < v.size()) s << " ...";
    std::cout << s.str() << '\n';
  }
  if (a.json) std::cout << js.dump(2) << '\n';
  return kOk;
}

}  // namespace

void add_run_command(CLI::App& app, Runner& run) {
  auto a = std::make_shared<RunArgs>();
  auto* cmd = app.add_subcommand("run", "Run a model on inputs from .npy / .npz files");
  cmd->add_option("model", a->model, "Model file (.onnx, .mqm, .safetensors, .pt, .pth)")->required();
  cmd->add_option("-i,--input", a->inputs,
                  "Input as NAME=FILE.npy (repeatable); FILE.npy alone for a one-input model; an .npz "
                  "with arrays named after the inputs")
      ->required()
      ->allow_extra_args(false);
  cmd->add_option("-o,--output", a->output, "Write every output to this .npz (or .npy for one output)");
  add_threads_option(cmd, a->threads);
  cmd->add_option("--values", a->values, "Values printed per output")->check(CLI::NonNegativeNumber);
  cmd->add_option("--scale", a->scale,
                  "Multiply integer data converted to float inputs by this (e.g. 0.00392157)");
  cmd->add_flag("--json", a->json, "Print outputs as JSON");
  cmd->callback([a, &run] { run = [a] { return run_model(*a); }; });
}

}  // namespace mq::cli
