// monoquant compare: a float model against its quantized version on real data, in batches:
// SQNR per output and per layer (values present in both graphs), top-1 agreement, accuracy.
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/api.h"
#include "ir/error.h"
#include "serialization/npy.h"
#include "tools/common.h"

namespace mq::cli {

namespace {

struct CompareArgs {
  std::string float_model, quant_model, data, labels;
  int64_t batch = 64;
  int64_t max_samples = 0;
  double scale = 1.0;
  int threads = 0;
  bool json = false;
  bool no_layers = false;
};

bool is_float_layer(OpKind op) {
  return op == OpKind::Linear || op == OpKind::Conv2d || op == OpKind::LSTM || op == OpKind::GRU ||
         op == OpKind::RNN || op == OpKind::MatMul || op == OpKind::Gemm;
}

/// A layer output tapped in both graphs: the float value, the quantized graph's value (same
/// name, or the output of the quantized node of the same name) and the accumulated SQNR.
struct LayerTap {
  std::string layer, op, value, quant_value;
  SqnrAccumulator acc;
};

/// Values to compare per layer. A float layer whose node name exists in the quantized graph
/// (the quantization rewrite keeps node names) is compared output to output, the float side
/// taken after the Relu / Clip the quantized node fused. Otherwise the layer's output, or the
/// activation right after it, is compared when a value of the same name exists in both.
std::vector<LayerTap> layer_taps(const Graph& f, const Graph& q) {
  std::vector<LayerTap> taps;
  for (const Node* n : f.nodes()) {
    if (!is_float_layer(n->op())) continue;
    const Value* out = n->output(0);
    if (!out || !is_float(out->dtype())) continue;
    const Value* next = nullptr;  // a single following activation
    if (out->users().size() == 1) {
      const Node* u = out->users()[0];
      if (u->op() == OpKind::Relu || u->op() == OpKind::Clip) next = u->output(0);
    }
    if (const Node* qn = q.find_node(n->name()); qn && qn->output(0) && qn->op() != n->op()) {
      bool fused = qn->attrs().has("activation") && !qn->attrs().get_string_or("activation", "").empty();
      const Value* fv = fused && next ? next : out;
      taps.push_back({n->name(), std::string(n->op_name()), fv->name(), qn->output(0)->name(), {}});
      detail("  layer " + n->name() + ": " + fv->name() + " vs " + qn->output(0)->name());
      continue;
    }
    for (const Value* c : {out, next}) {
      if (!c || f.is_output(c) || !q.find_value(c->name())) continue;
      taps.push_back({n->name(), std::string(n->op_name()), c->name(), c->name(), {}});
      detail("  layer " + n->name() + ": " + c->name());
    }
  }
  return taps;
}

/// Tensor with its value's QuantParams attached (so quantized values can be dequantized).
Tensor with_quant(const Value& v, const Tensor& t) {
  Tensor c = t;
  if (!c.quant() && v.type().quant) c.set_quant(v.type().quant);
  return c;
}

std::vector<int64_t> argmax_rows(const std::vector<double>& v, int64_t classes) {
  std::vector<int64_t> out;
  if (classes <= 0) return out;
  for (size_t r = 0; r + size_t(classes) <= v.size(); r += size_t(classes)) {
    int64_t best = 0;
    for (int64_t c = 1; c < classes; ++c)
      if (v[r + size_t(c)] > v[r + size_t(best)]) best = c;
    out.push_back(best);
  }
  return out;
}

std::unique_ptr<CalibrationSource> open_data(const Graph& g, const CompareArgs& a, int64_t& total) {
  int64_t batch = a.batch;
  if (!g.inputs().empty() && g.inputs()[0]->shape().has_rank() && g.inputs()[0]->shape().rank() > 0 &&
      g.inputs()[0]->shape()[0].is_static())
    batch = g.inputs()[0]->shape()[0].value;
  std::string ext = serialization::file_extension(a.data);
  if (ext == ".npy" || ext == ".npz") {
    TensorMap arrays;
    if (ext == ".npy") {
      if (g.inputs().size() != 1)
        throw UsageError("--data " + a.data + ": the model has several inputs; give an .npz named after them");
      arrays[g.inputs()[0]->name()] =
          prepare_array(serialization::load_npy(a.data), *g.inputs()[0], a.scale, a.data);
    } else {
      auto npz = serialization::load_npz(a.data);
      for (const Value* in : g.inputs()) {
        auto it = npz.find(in->name());
        if (it == npz.end() && g.inputs().size() == 1 && npz.size() == 1) it = npz.begin();
        if (it == npz.end()) fail<InvalidArgument>(a.data, ": no array for model input '", in->name(), "'");
        arrays[in->name()] = prepare_array(it->second, *in, a.scale, a.data);
      }
    }
    auto src = std::make_unique<ArraySource>(std::move(arrays), batch);
    total = src->rows();
    return src;
  }
  if (a.scale != 1.0) throw UsageError("--scale applies to .npy / .npz data only");
  auto src =
      std::make_unique<FileSource>(g, std::vector<std::string>{a.data}, FileSourceOptions{.batch_size = batch});
  total = src->sample_count();
  return src;
}

int compare_models(const CompareArgs& a) {
  Graph fg = load_model(a.float_model);
  Graph qg = load_model(a.quant_model);
  for (const Value* in : fg.inputs())
    if (!qg.find_value(in->name()))
      fail<InvalidArgument>(a.quant_model, ": has no input '", in->name(), "' (the float model's input)");

  std::vector<int64_t> labels;
  if (!a.labels.empty()) {
    require_extension(a.labels, {".npy"}, "labels");
    Tensor l = serialization::load_npy(a.labels);
    if (!is_integer(l.dtype()))
      fail<InvalidArgument>(a.labels, ": labels must be integers, not ", dtype_name(l.dtype()));
    labels = l.to_int64();
  }

  int64_t total = 0;
  auto data = open_data(fg, a, total);
  std::unique_ptr<RangeSource> limited;
  CalibrationSource* src = data.get();
  if (a.max_samples > 0 && a.max_samples < total) {
    limited = std::make_unique<RangeSource>(fg, *data, 0, a.max_samples);
    src = limited.get();
    total = a.max_samples;
  }
  if (!labels.empty() && int64_t(labels.size()) < total)
    fail<InvalidArgument>(a.labels, ": ", labels.size(), " labels for ", total, " samples");

  Session fs(fg, {.threads = a.threads, .optimize = false});
  Session qs(qg, {.threads = a.threads, .optimize = false});
  std::vector<std::string> fouts = fs.output_names(), qouts = qs.output_names();
  if (fouts.size() != qouts.size())
    fail<InvalidArgument>("the models have ", fouts.size(), " and ", qouts.size(), " outputs");
  std::vector<std::string> qmatch(fouts.size());
  for (size_t i = 0; i < fouts.size(); ++i)
    qmatch[i] = std::find(qouts.begin(), qouts.end(), fouts[i]) != qouts.end() ? fouts[i] : qouts[i];

  std::vector<LayerTap> taps = a.no_layers ? std::vector<LayerTap>{} : layer_taps(fg, qg);
  detail("comparing " + std::to_string(taps.size()) + " layer values present in both models");
  std::vector<std::string> float_tap_names, quant_tap_names;
  std::map<std::string, std::vector<size_t>> quant_tap_index;  // quant value -> taps
  for (size_t i = 0; i < taps.size(); ++i) {
    float_tap_names.push_back(taps[i].value);
    quant_tap_names.push_back(taps[i].quant_value);
    quant_tap_index[taps[i].quant_value].push_back(i);
  }

  std::vector<SqnrAccumulator> out_acc(fouts.size());
  std::vector<int64_t> agree(fouts.size(), 0), rows(fouts.size(), 0);
  int64_t correct = 0, correct_float = 0, labelled = 0, samples = 0;
  Progress progress("compare");
  std::map<std::string, std::vector<double>> float_taps;
  while (auto batch = src->next()) {
    TensorMap qin;
    for (const Value* in : qg.inputs()) {
      auto it = batch->find(in->name());
      if (it != batch->end()) qin[in->name()] = it->second;
    }
    float_taps.clear();
    TensorMap fo = fs.run(*batch, float_tap_names,
                          [&](const Value& v, const Tensor& t) { float_taps[v.name()] = to_doubles(t); });
    TensorMap qo = qs.run(qin, quant_tap_names, [&](const Value& v, const Tensor& t) {
      auto idx = quant_tap_index.find(v.name());
      if (idx == quant_tap_index.end()) return;
      std::vector<double> qvals = to_doubles(with_quant(v, t));
      for (size_t i : idx->second) {
        auto it = float_taps.find(taps[i].value);
        if (it != float_taps.end() && qvals.size() == it->second.size()) taps[i].acc.add(it->second, qvals);
      }
    });
    int64_t n = batch_rows(fg, *batch);
    for (size_t i = 0; i < fouts.size(); ++i) {
      const Tensor& ft = fo.at(fouts[i]);
      const Value* qv = qg.find_value(qmatch[i]);
      const Tensor qt = qv ? with_quant(*qv, qo.at(qmatch[i])) : qo.at(qmatch[i]);
      std::vector<double> fvals = to_doubles(ft), qvals = to_doubles(qt);
      if (fvals.size() != qvals.size())
        fail<ShapeError>("output '", fouts[i], "' has shape ", dims_str(ft.dims()), " in the float model and ",
                         dims_str(qt.dims()), " in the quantized model");
      out_acc[i].add(fvals, qvals);
      if (ft.rank() >= 2 && ft.dims().back() > 1) {
        auto fa = argmax_rows(fvals, ft.dims().back()), qa = argmax_rows(qvals, ft.dims().back());
        for (size_t r = 0; r < fa.size(); ++r) agree[i] += fa[r] == qa[r];
        rows[i] += int64_t(fa.size());
        if (i == 0 && !labels.empty()) {
          if (int64_t(qa.size()) != n)
            fail<InvalidArgument>(a.labels, ": output '", fouts[0], "' has ", qa.size(), " predictions for ", n,
                                  " samples; labels need one prediction per sample");
          for (size_t r = 0; r < qa.size(); ++r) {
            int64_t label = labels[size_t(samples) + r];
            correct += qa[r] == label;
            correct_float += fa[r] == label;
          }
          labelled += int64_t(qa.size());
        }
      }
    }
    samples += n;
    progress.update(samples, total);
  }
  progress.finish();
  if (samples == 0) fail<InvalidArgument>(a.data, ": no samples");

  nlohmann::json js;
  js["float_model"] = a.float_model;
  js["quant_model"] = a.quant_model;
  js["samples"] = samples;
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  js["outputs"] = nlohmann::json::array();
  for (size_t i = 0; i < fouts.size(); ++i) {
    nlohmann::json o{{"name", fouts[i]}, {"sqnr_db", num(out_acc[i].db())}, {"max_abs_error", out_acc[i].max_abs}};
    if (rows[i]) o["top1_agreement"] = double(agree[i]) / double(rows[i]);
    js["outputs"].push_back(o);
  }
  js["layers"] = nlohmann::json::array();
  for (auto& t : taps)
    if (t.acc.count)
      js["layers"].push_back({{"layer", t.layer}, {"op", t.op}, {"value", t.value}, {"sqnr_db", num(t.acc.db())}});
  if (labelled) {
    js["accuracy"] = double(correct) / double(labelled);
    js["float_accuracy"] = double(correct_float) / double(labelled);
  }

  if (a.json) {
    std::cout << js.dump(2) << '\n';
    return kOk;
  }
  std::ostringstream s;
  s << "samples  " << samples << '\n';
  if (!js["layers"].empty()) {
    size_t w = 5;
    for (auto& t : taps) w = std::max(w, t.layer.size());
    s << "\nlayer" << std::string(w - 5, ' ') << "  "
      << "SQNR dB   value\n";
    for (auto& t : taps) {
      if (!t.acc.count) continue;
      std::string v = fixed(t.acc.db(), 2);
      s << t.layer << std::string(w - t.layer.size(), ' ') << "  " << v
        << std::string(v.size() < 8 ? 8 - v.size() : 0, ' ') << "  " << t.value << '\n';
    }
  }
  s << '\n';
  for (size_t i = 0; i < fouts.size(); ++i) {
    s << "output " << fouts[i] << ": SQNR " << fixed(out_acc[i].db(), 2) << " dB, max |error| "
      << fixed(out_acc[i].max_abs, 5);
    if (rows[i]) s << ", top-1 agreement " << fixed(100.0 * double(agree[i]) / double(rows[i]), 2) << " %";
    s << '\n';
  }
  if (labelled)
    s << "accuracy " << fixed(100.0 * double(correct) / double(labelled), 2) << " % quantized, "
      << fixed(100.0 * double(correct_float) / double(labelled), 2) << " % float, on " << labelled
      << " labelled samples\n";
  std::cout << s.str();
  return kOk;
}

}  // namespace

void add_compare_command(CLI::App& app, Runner& run) {
  auto a = std::make_shared<CompareArgs>();
  auto* cmd = app.add_subcommand("compare", "Compare a float model with its quantized version on data");
  cmd->add_option("float", a->float_model, "The float model")->required();
  cmd->add_option("quant", a->quant_model, "The quantized model")->required();
  cmd->add_option("-d,--data", a->data, "Samples: .npy / .npz file, .pb, .safetensors or a folder")->required();
  cmd->add_option("-l,--labels", a->labels, "Labels (.npy of integers, one per sample) for accuracy");
  cmd->add_option("-b,--batch", a->batch, "Samples per run (a static batch dim of the model wins)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("-n,--max-samples", a->max_samples, "Compare at most this many samples (0 = all)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--scale", a->scale,
                  "Multiply integer data converted to float inputs by this (e.g. 0.00392157)");
  add_threads_option(cmd, a->threads);
  cmd->add_flag("--no-layers", a->no_layers, "Skip the per-layer SQNR (faster)");
  cmd->add_flag("--json", a->json, "Print the result as JSON");
  cmd->callback([a, &run] { run = [a] { return compare_models(*a); }; });
}

}  // namespace mq::cli
