// monoquant quantize: import → calibrate → quantize → validate → save, and the report.
#include <map>
#include <iostream>
#include <nlohmann/json.hpp>

#include "engine/api.h"
#include "engine/quantize.h"
#include "engine/quantize/patterns/pattern.h"
#include "ir/error.h"
#include "tools/common.h"

namespace mq::cli {

namespace {

struct QuantizeArgs {
  std::string model, output;
  std::vector<std::string> calib;
  std::vector<std::string> state;
  int64_t max_samples = 0;
  int64_t batch = 16;
  std::string mode = "static";
  std::vector<std::string> layers;
  std::vector<std::string> include, exclude;
  bool per_tensor = false;
  bool reduce_range = false;
  std::string activation_type = "u8";
  bool symmetric = false;
  std::string observer = "minmax";
  std::optional<double> min_sqnr;
  double fail_below = 10.0;
  std::string on_failure = "error";
  int64_t validation_samples = 32;
  bool no_round_trip = false;
  bool no_fuse = false;
  bool static_outputs = false;
  bool int8_outputs = false;
  bool float_output_assembly = false;
  bool requantize = false;
  std::string report;
  int threads = 0;
  std::string save_calibration, load_calibration;
  bool json = false;
};

ObserverOptions parse_observer(const std::string& spec) {
  ObserverOptions o;
  std::string name = spec, value;
  if (auto colon = spec.find(':'); colon != std::string::npos) {
    name = spec.substr(0, colon);
    value = spec.substr(colon + 1);
  }
  try {
    o.kind = parse_observer_kind(name);
  } catch (const Error& e) {
    throw UsageError("--observer " + spec + ": " + e.what());
  }
  if (!value.empty()) {
    if (o.kind != ObserverKind::percentile)
      throw UsageError("--observer " + spec + ": only percentile takes a value (percentile:99.9)");
    size_t used = 0;
    double p = -1;
    try {
      p = std::stod(value, &used);
    } catch (const std::exception&) {
    }
    if (used != value.size() || !(p > 0 && p <= 100))
      throw UsageError("--observer " + spec + ": the percentile must be a number in (0, 100]");
    o.percentile = p;
  }
  return o;
}

/// "83 int8 layers, 192 QuantizeLinear" for a model that holds quantized ops, else "".
std::string quantized_content(const Graph& g) {
  int64_t layers = 0, qdq = 0;
  for (const Node* n : g.nodes()) {
    switch (n->op()) {
      case OpKind::QuantizeLinear:
      case OpKind::DequantizeLinear: ++qdq; break;
      case OpKind::QLinearConv:
      case OpKind::QLinearMatMul:
      case OpKind::MatMulInteger:
      case OpKind::ConvInteger: ++layers; break;
      default: layers += quant::pattern_producing(n->op()) != nullptr;
    }
  }
  if (!layers && !qdq) return "";
  std::string s;
  if (layers) s = std::to_string(layers) + " int8 layers";
  if (qdq) s += (s.empty() ? "" : ", ") + std::to_string(qdq) + " QuantizeLinear / DequantizeLinear";
  return s;
}

LayerSelection parse_layers(const QuantizeArgs& a) {
  LayerSelection sel;
  sel.include = a.include;
  sel.exclude = a.exclude;
  for (auto l : a.layers) {
    for (auto& ch : l) ch = char(std::tolower(static_cast<unsigned char>(ch)));
    if (l == "all") {
      sel.types.clear();
      return sel;
    }
    if (!quant::pattern_named(l))
      throw UsageError("--layers: unknown layer type '" + l + "' (expected " + quant::pattern_names() +
                       " or all)");
    sel.types.push_back(l);
  }
  return sel;
}

int quantize_model(const QuantizeArgs& a) {
  using clock = std::chrono::steady_clock;
  // ---- check the command line before any work ----
  require_extension(a.output, {".mqm", ".safetensors", ".pt", ".pth", ".onnx"}, "output model");
  std::vector<std::string> inputs{a.model, a.load_calibration};
  for (const auto& c : a.calib) inputs.push_back(c);
  check_output_path(a.output, inputs);
  if (!a.report.empty()) {
    check_output_path(a.report, inputs);
    if (a.report == a.output) throw UsageError("--report and --output name the same file");
  }
  if (!a.save_calibration.empty()) check_output_path(a.save_calibration, inputs);
  bool dynamic = a.mode == "dynamic";
  if (!dynamic && a.calib.empty() && a.load_calibration.empty())
    throw UsageError(
        "static quantization needs calibration data: give --calib PATH (or --load-calibration FILE, "
        "or use --mode dynamic)");
  if (dynamic && (!a.load_calibration.empty() || !a.save_calibration.empty()))
    throw UsageError("--mode dynamic uses no calibration: drop --load-calibration / --save-calibration");

  QuantizeOptions q;
  q.mode = dynamic ? QuantMode::dynamic_quant : QuantMode::static_quant;
  q.layers = parse_layers(a);
  q.per_channel_weights = !a.per_tensor;
  q.reduce_range_weights = a.reduce_range;
  q.activation_type = a.activation_type == "s8" || a.activation_type == "i8" ? DType::i8 : DType::u8;
  q.symmetric_activations = a.symmetric;
  q.fuse_activations = !a.no_fuse;
  q.static_float_outputs = a.static_outputs;
  q.int8_outputs = a.int8_outputs;
  q.float_output_assembly = a.float_output_assembly;
  q.on_failure = a.on_failure == "warn"     ? OnFailure::warn
                 : a.on_failure == "ignore" ? OnFailure::ignore
                                            : OnFailure::error;
  q.min_sqnr_db = a.min_sqnr;
  q.fail_below_sqnr_db = a.fail_below;
  q.validation_samples = a.validation_samples;
  q.round_trip_format = a.no_round_trip ? "" : ".mqm";
  q.threads = a.threads;
  CalibrationOptions copts;
  copts.observer = parse_observer(a.observer);
  copts.threads = a.threads;
  copts.layers = q.layers;
  for (const auto& s : a.state) {
    try {
      copts.state.push_back(parse_state_link(s));
    } catch (const Error& e) {
      throw UsageError(std::string("--state: ") + e.what());
    }
  }
  q.state = copts.state;

  std::map<std::string, double> seconds;
  // ---- import ----
  auto t0 = clock::now();
  note("importing " + a.model);
  Graph g = load_model(a.model);
  seconds["import"] = seconds_since(t0);
  if (std::string what = quantized_content(g); !what.empty()) {
    if (!a.requantize)
      fail<InvalidArgument>(a.model, ": the model is already quantized (", what,
                            "); it runs as it is (monoquant run / bench). To quantize it again from the float "
                            "values it holds, pass --requantize.");
    note("already quantized (" + what + "): returned to float first (--requantize)");
    g = dequantize_model(g);
  }

  // ---- data: calibration samples first, the last --validation-samples held back ----
  std::unique_ptr<FileSource> data;
  int64_t total = 0;
  if (!a.calib.empty()) {
    // a stateful model runs one sample at a time, in order
    FileSourceOptions fo{.batch_size = copts.state.empty() ? a.batch : 1};
    for (const auto& s : copts.state) fo.optional_inputs.push_back(s.input);
    StateFeed(g, copts.state);  // names and dtypes checked before any data is read
    data = std::make_unique<FileSource>(g, a.calib, fo);
    total = data->sample_count();
  }
  int64_t hold = std::min(a.validation_samples, total);
  int64_t calib_end = total;
  bool overlap = false;
  bool calibrating = !dynamic && a.load_calibration.empty();
  if (calibrating && hold > 0) {
    if (total >= 2 * hold) {
      calib_end = total - hold;
    } else {
      overlap = true;
      warn("only " + std::to_string(total) + " calibration samples: validating on " + std::to_string(hold) +
           " of the samples used to calibrate (give at least " + std::to_string(2 * a.validation_samples) +
           " samples to hold " + std::to_string(a.validation_samples) + " back)");
    }
  }
  if (a.max_samples > 0) calib_end = std::min(calib_end, a.max_samples);
  std::unique_ptr<RangeSource> calib_src, val_src;
  if (data) {
    calib_src = std::make_unique<RangeSource>(g, *data, 0, calib_end);
    if (hold > 0) val_src = std::make_unique<RangeSource>(g, *data, total - hold, total);
  }

  // ---- calibrate ----
  Calibration cal;
  if (calibrating) {
    note("calibrating on " + std::to_string(calib_end) + " samples (" + a.observer + ")" +
         (hold && !overlap ? ", " + std::to_string(hold) + " held back for validation" : ""));
    t0 = clock::now();
    Progress progress("calibrate");
    copts.progress = [&](int64_t done, int64_t expected) {
      progress.update(done, expected ? expected : calib_end);
    };
    cal = calibrate(g, *calib_src, copts);
    progress.finish();
    if (copts.observer.kind == ObserverKind::auto_select) {
      std::map<std::string, int> chosen;
      for (const std::string& v : cal.values()) ++chosen[cal.observer_of(v)];
      std::string line = "auto observer chose:";
      for (auto& [name, count] : chosen) line += " " + name + " ×" + std::to_string(count);
      note(line);
    }
    seconds["calibrate"] = seconds_since(t0);
  } else if (!a.load_calibration.empty()) {
    t0 = clock::now();
    cal = Calibration::load(a.load_calibration);
    seconds["calibrate"] = seconds_since(t0);
    note("loaded calibration of " + std::to_string(cal.samples()) + " samples from " + a.load_calibration);
  }
  if (!a.save_calibration.empty()) {
    cal.save(a.save_calibration);
    note("wrote calibration to " + a.save_calibration);
  }

  // ---- quantize and validate ----
  if (val_src) val_src->rewind();
  note(std::string("quantizing (") + a.mode + ")" +
       (val_src ? ", validating on " + std::to_string(hold) + " samples" : ", no validation data"));
  QuantizeResult r = dynamic ? dynamic_quantize(g, q, val_src.get()) : static_quantize(g, cal, q, val_src.get());
  for (auto& [k, v] : seconds) r.info.seconds[k] = v;
  if (!r.info.passed()) {
    if (q.on_failure == OnFailure::error) {
      std::string msg;
      for (const auto& p : r.info.problems) msg += (msg.empty() ? "" : "; ") + p;
      throw ValidationError(msg);
    }
    if (q.on_failure == OnFailure::warn)
      for (const auto& p : r.info.problems) warn("validation: " + p);
  }

  // ---- save ----
  t0 = clock::now();
  save_model(r.graph, a.output);
  r.info.seconds["save"] = seconds_since(t0);
  double all_stages = 0;
  for (const auto& [stage, secs] : r.info.seconds)
    if (stage != "total") all_stages += secs;
  r.info.seconds["total"] = all_stages;
  int64_t out_bytes = file_bytes(a.output);

  nlohmann::json report = nlohmann::json::parse(r.info.json());
  report["model"] = a.model;
  report["output"] = {
      {"path", a.output}, {"format", serialization::file_extension(a.output)}, {"bytes", out_bytes}};
  report["input_bytes"] = file_bytes(a.model);
  report["validation_overlaps_calibration"] = overlap;
  report["passed"] = r.info.passed();
  if (!a.report.empty()) {
    const std::string text = report.dump(2) + "\n";
    serialization::write_file_atomic(a.report, std::as_bytes(std::span(text.data(), text.size())));
  }

  if (a.json) {
    std::cout << report.dump(2) << '\n';
  } else if (!globals().quiet) {
    std::cout << r.info.table();
    std::cout << "wrote " << a.output << " (" << human_bytes(out_bytes) << ", input "
              << human_bytes(file_bytes(a.model)) << ")\n";
  }
  return kOk;
}

}  // namespace

void add_quantize_command(CLI::App& app, Runner& run) {
  auto a = std::make_shared<QuantizeArgs>();
  auto* cmd = app.add_subcommand("quantize",
                                 "Quantize a float model to int8 (import, calibrate, quantize, validate, save)");
  cmd->add_option("model", a->model, "Float model (.onnx, .mqm, .safetensors, .pt, .pth)")->required();
  cmd->add_option("-o,--output", a->output,
                  "Output model; the format follows the extension (.mqm, .safetensors, "
                  ".pt, .pth, .onnx as QDQ)")
      ->required();
  cmd->add_option("-c,--calib", a->calib,
                  "Calibration data: .npy, .npz, .pb, .safetensors files or folders (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--state", a->state,
                  "OUT=IN: a streaming model's state output OUT is fed back as its input IN for the next "
                  "sample (calibration and validation run the samples in order; IN starts from the data or "
                  "zeros; repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("-n,--max-samples", a->max_samples, "Calibrate on at most this many samples (0 = all)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("-b,--batch", a->batch,
                  "Calibration batch size when every input has a symbolic batch dim (else one sample per run)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("-m,--mode", a->mode, "static (calibrated activations) or dynamic (activations per call)")
      ->check(CLI::IsMember({"static", "dynamic"}));
  cmd->add_flag("--requantize", a->requantize,
                "The model is quantized already (QDQ, QOperator or monoquant's int8 ops): return it to float and "
                "quantize it again");
  cmd->add_option("--layers", a->layers, "Patterns to quantize (default all): " + quant::pattern_names())
      ->delimiter(',')
      ->allow_extra_args(false);
  cmd->add_option("--include", a->include, "Quantize only layers whose name matches (glob; repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--exclude", a->exclude, "Never quantize layers whose name matches (glob; repeatable)")
      ->allow_extra_args(false);
  cmd->add_flag("--per-tensor", a->per_tensor, "One weight scale per tensor (default: per output channel)");
  cmd->add_flag("--reduce-range", a->reduce_range,
                "7-bit weights (|w| <= 64): faster int8 path on CPUs without VNNI, some accuracy cost");
  cmd->add_option("--activation-type", a->activation_type, "Activation integer type: u8 (default) or s8")
      ->check(CLI::IsMember({"u8", "s8", "i8"}));
  cmd->add_flag("--symmetric-activations", a->symmetric, "Symmetric activation ranges (zero point 0 / 128)");
  cmd->add_option("--observer", a->observer,
                  "Activation observer: minmax (default), moving-average, percentile[:P] (e.g. percentile:99.9), "
                  "entropy, mse, auto (per tensor, the candidate range with the least error in the layers reading "
                  "it; docs/comparison.md)");
  cmd->add_option("--min-sqnr", a->min_sqnr,
                  "Fallback target in dB: return the worst layers to float until the model SQNR reaches it");
  cmd->add_option("--fail-below", a->fail_below, "Validation fails when an output SQNR is below this (dB)");
  cmd->add_option("--on-failure", a->on_failure, "When validation fails: error (exit 1, no output), warn, ignore")
      ->check(CLI::IsMember({"error", "warn", "ignore"}));
  cmd->add_option("--validation-samples", a->validation_samples,
                  "Samples held back from --calib for validation (the last N; 0 = no SQNR checks)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--no-round-trip", a->no_round_trip, "Skip the save → load → run check");
  cmd->add_flag("--no-fuse", a->no_fuse, "Do not fold a following Relu / Clip into quantized layers");
  cmd->add_flag(
      "--static-outputs", a->static_outputs,
      "Static mode: a Linear no quantized layer reads (a classifier head) is static too, with a calibrated "
      "int8 output, instead of reading its int8 input and giving a float result");
  cmd->add_flag("--int8-outputs", a->int8_outputs,
                "Static mode: quantize through to the model's outputs, as ONNX Runtime's quantize_static does (a "
                "detection head's Sigmoid / Concat / Transpose, a classifier's Softmax on int8 values; outputs "
                "dequantized at the end). Default: the last layers' results stay float, one rounding fewer");
  cmd->add_flag("--float-output-assembly", a->float_output_assembly,
                "Static mode: the ops that assemble an output from the last layers' results (a detection "
                "head's Sigmoid / Concat / Reshape / Transpose, a classifier's Softmax) run in float. Default: "
                "on int8 values as in ONNX Runtime's quantize_static, a Concat keeping each operand's scale "
                "(per channel), the output dequantized at the end");
  cmd->add_option("-r,--report", a->report, "Write the JSON report to this file");
  add_threads_option(cmd, a->threads);
  cmd->add_option("--save-calibration", a->save_calibration, "Write the calibration table (JSON) to this file");
  cmd->add_option("--load-calibration", a->load_calibration,
                  "Use a saved calibration table instead of calibrating");
  cmd->add_flag("--json", a->json, "Print the JSON report instead of the table");
  cmd->callback([a, &run] { run = [a] { return quantize_model(*a); }; });
}

}  // namespace mq::cli
