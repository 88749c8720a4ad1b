// static_quantize / dynamic_quantize / dequantize_model, validation and the accuracy-driven
// fallback.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <optional>
#include <random>
#include <set>
#include <sstream>

#include "engine/api.h"
#include "engine/observers/qparams.h"
#include "engine/quantize.h"
#include "engine/quantize/patterns/pattern.h"
#include "engine/quantize/rewrite.h"
#include "ir/control_flow.h"

namespace mq {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

Tensor as_float(const Tensor& t) {
  if (t.dtype() == DType::f32) return t;
  if ((t.dtype() == DType::u8 || t.dtype() == DType::i8) && t.quant()) return dequantize_tensor(t);
  Tensor f(DType::f32, t.dims());
  auto v = t.to_float();
  std::copy(v.begin(), v.end(), f.data<float>());
  return f;
}

/// A batch of zeros (symbolic dims = 1) for the round trip when no data is given.
TensorMap zero_batch(const Graph& g) {
  TensorMap m;
  for (Value* v : g.inputs()) {
    std::vector<int64_t> dims;
    if (v->shape().has_rank())
      for (auto& d : v->shape().dims()) dims.push_back(d.is_static() ? d.value : 1);
    m[v->name()] = Tensor(v->dtype(), dims);
  }
  return m;
}

/// Where the quantized model's first NaN or infinity appears on `in` (a run with every float
/// value tapped): the first node, in execution order, whose output has one while none of its
/// inputs has. "" when no such node is found.
std::string first_non_finite(Session& qs, const Graph& qg, const TensorMap& in) {
  std::vector<std::string> taps;  // graph inputs and node outputs (a tap sees both)
  for (Value* v : qg.inputs())
    if (v->dtype() == DType::f32) taps.push_back(v->name());
  for (Node* n : qg.nodes())
    for (Value* v : n->outputs())
      if (v && v->dtype() == DType::f32) taps.push_back(v->name());
  std::set<std::string> bad;
  qs.run(in, taps, [&](const Value& v, const Tensor& t) {
    if (t.dtype() != DType::f32) return;
    const auto values = t.span<float>();
    if (std::any_of(values.begin(), values.end(), [](float x) { return !std::isfinite(x); })) bad.insert(v.name());
  });
  for (Node* n : qg.nodes()) {
    bool out_bad = false, in_bad = false;
    for (Value* v : n->outputs()) out_bad = out_bad || (v && bad.count(v->name()));
    for (Value* v : n->inputs()) in_bad = in_bad || (v && bad.count(v->name()));
    if (out_bad && !in_bad) return "node '" + n->name() + "' (" + std::string(op_name(n->op())) + ")";
  }
  return "";
}

void validate(const Graph& fg, const Graph& qg, const QuantizeOptions& o, const std::vector<TensorMap>& batches,
              const std::vector<quant::LayerProbe>& probes, QuantizationInfo& info) {
  info.size_before = quant::constant_bytes(fg);
  info.size_after = quant::constant_bytes(qg);
  for (auto& l : info.layers)
    if (l.quantized && !(std::isfinite(l.weight_sqnr_db) || l.weight_sqnr_db > 0))
      info.problems.push_back("layer '" + l.name + "': weight SQNR is not finite");
  Session fs(fg, {.threads = o.threads, .optimize = false});
  Session qs(qg, {.threads = o.threads, .optimize = false});
  if (!batches.empty()) {
    std::vector<std::string> ftaps, qtaps;
    for (auto& p : probes) {
      ftaps.push_back(p.float_value);
      qtaps.push_back(p.quant_value);
    }
    std::vector<SqnrAccumulator> layer_acc(probes.size()), out_acc(fg.outputs().size());
    StateFeed ffeed(fg, o.state), qfeed(qg, o.state);
    std::optional<TensorMap> first_bad;  // the quantized model's inputs of the first run with a NaN or inf output
    for (auto& b : batches) {
      std::map<std::string, Tensor> fvals, qvals;
      TensorMap fo =
          fs.run(ffeed.apply(b), ftaps, [&](const Value& v, const Tensor& t) { fvals[v.name()] = t.clone(); });
      const TensorMap qin = qfeed.apply(b);
      TensorMap qo = qs.run(qin, qtaps, [&](const Value& v, const Tensor& t) { qvals[v.name()] = as_float(t); });
      ffeed.update(fo);
      qfeed.update(qo);
      for (size_t i = 0; i < probes.size(); ++i) {
        auto f = fvals.find(probes[i].float_value);
        auto q = qvals.find(probes[i].quant_value);
        if (f == fvals.end() || q == qvals.end() || f->second.numel() != q->second.numel()) continue;
        layer_acc[i].add(f->second.data<float>(), q->second.data<float>(), f->second.numel());
      }
      for (size_t i = 0; i < fg.outputs().size(); ++i) {
        const std::string& name = fg.outputs()[i]->name();
        auto it = qo.find(name);
        if (it == qo.end()) {
          info.problems.push_back("output '" + name + "' is missing from the quantized model");
          continue;
        }
        Tensor a = as_float(fo.at(name)), c = as_float(it->second);
        if (a.numel() != c.numel()) {
          info.problems.push_back("output '" + name + "' changed shape");
          continue;
        }
        const int64_t bad_before = out_acc[i].bad_test;
        out_acc[i].add(a.data<float>(), c.data<float>(), a.numel());
        if (out_acc[i].bad_test > bad_before && !first_bad) first_bad = qin;
      }
    }
    // NaN or inf in either model's values fails validation (they would otherwise be skipped
    // or turn the SQNR into NaN, which compares as passing)
    const std::string where = first_bad ? first_non_finite(qs, qg, *first_bad) : "";
    auto non_finite = [&](const std::string& what, const SqnrAccumulator& a) {
      if (a.bad_ref)
        info.problems.push_back(what + ": the float model gives " + std::to_string(a.bad_ref) +
                                " NaN or infinite values on the validation data");
      if (a.bad_test)
        info.problems.push_back(what + ": the quantized model gives " + std::to_string(a.bad_test) +
                                " NaN or infinite values on the validation data" +
                                (where.empty() ? "" : " (the first appears at " + where + ")"));
    };
    for (size_t i = 0; i < probes.size(); ++i) {
      auto& l = info.layers[probes[i].report];
      l.output_sqnr_db = layer_acc[i].db();
      l.has_output_sqnr =
          layer_acc[i].signal > 0 || layer_acc[i].noise > 0 || layer_acc[i].bad_ref || layer_acc[i].bad_test;
      non_finite("layer '" + l.name + "'", layer_acc[i]);
    }
    info.model_sqnr_db = std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < fg.outputs().size(); ++i) {
      OutputReport r{fg.outputs()[i]->name(), out_acc[i].db(), out_acc[i].max_abs};
      info.model_sqnr_db = std::min(info.model_sqnr_db, r.sqnr_db);
      non_finite("output '" + r.name + "'", out_acc[i]);
      if (out_acc[i].bad_ref || out_acc[i].bad_test) {
        info.outputs.push_back(r);
        continue;
      }
      if (r.sqnr_db < o.fail_below_sqnr_db) {
        std::ostringstream os;
        os.precision(3);
        os << "output '" << r.name << "': SQNR " << r.sqnr_db << " dB is below " << o.fail_below_sqnr_db << " dB";
        info.problems.push_back(os.str());
      }
      info.outputs.push_back(r);
    }
    for (auto& b : batches) info.validation_samples += batch_rows(fg, b);
  }
  if (!o.round_trip_format.empty()) {
    namespace fsys = std::filesystem;
    fsys::path dir =
        fsys::temp_directory_path() / ("monoquant-roundtrip-" + std::to_string(std::random_device{}()));
    fsys::create_directories(dir);
    fsys::path file = dir / ("model" + o.round_trip_format);
    info.round_trip_checked = true;
    info.round_trip_format = o.round_trip_format;
    try {
      save_model(qg, file.string());
      info.file_size = int64_t(fsys::file_size(file));
      Graph back = load_model(file.string());
      Session rs(back, {.threads = o.threads, .optimize = false});  // as qs: this checks the file, not the plan
      TensorMap in = batches.empty() ? zero_batch(qg) : StateFeed(qg, o.state).apply(batches.front());
      TensorMap a = qs.run(in), b = rs.run(in);
      bool same = a.size() == b.size();
      for (auto& [name, t] : a) {
        auto it = b.find(name);
        same = same && it != b.end() && it->second.dtype() == t.dtype() && it->second.dims() == t.dims() &&
               std::memcmp(it->second.raw(), t.raw(), t.nbytes()) == 0;
      }
      info.round_trip_ok = same;
      if (!same) info.problems.push_back("round trip through " + o.round_trip_format + " changed the outputs");
    } catch (const Error& e) {
      info.round_trip_ok = false;
      info.problems.push_back("round trip through " + o.round_trip_format + " failed: " + e.what());
    }
    std::error_code ec;
    fsys::remove_all(dir, ec);
  }
}

QuantizeResult quantize_impl(const Graph& g, const Calibration* cal, QuantizeOptions o,
                             CalibrationSource* validation) {
  auto t0 = Clock::now();
  std::vector<TensorMap> batches;
  if (validation && o.validate) {
    validation->rewind();
    batches = collect_batches(g, *validation, o.validation_samples);
  }
  std::vector<std::string> fell_back;
  while (true) {
    auto tq = Clock::now();
    QuantizeResult r{g.clone(), {}};
    r.info.mode = o.mode == QuantMode::static_quant ? "static" : "dynamic";
    if (cal) r.info.calibration_samples = cal->samples();
    std::vector<quant::LayerProbe> probes;
    quant::rewrite(r.graph, cal, o, r.info.layers, probes);
    r.info.seconds["quantize"] = seconds_since(tq);
    r.info.fallback_layers = fell_back;
    for (auto& l : r.info.layers)
      l.fell_back = std::find(fell_back.begin(), fell_back.end(), l.name) != fell_back.end();
    if (!o.validate) {
      r.info.size_before = quant::constant_bytes(g);
      r.info.size_after = quant::constant_bytes(r.graph);
      return r;
    }
    auto tv = Clock::now();
    validate(g, r.graph, o, batches, probes, r.info);
    r.info.seconds["validate"] = seconds_since(tv);
    // accuracy-driven fallback: return the worst layer to float and try again
    if (o.min_sqnr_db && !batches.empty() && r.info.model_sqnr_db < *o.min_sqnr_db) {
      const LayerReport* worst = nullptr;
      for (auto& l : r.info.layers)
        if (l.quantized && l.has_output_sqnr && (!worst || l.output_sqnr_db < worst->output_sqnr_db)) worst = &l;
      if (worst) {
        fell_back.push_back(worst->name);
        o.layers.exclude.push_back(worst->name);
        continue;
      }
      std::ostringstream os;
      os << "model SQNR " << r.info.model_sqnr_db << " dB misses min_sqnr_db " << *o.min_sqnr_db
         << " dB even with every layer in float";
      r.info.problems.push_back(os.str());
    } else if (o.min_sqnr_db && !batches.empty() && r.info.model_sqnr_db >= *o.min_sqnr_db) {
      // met
    }
    r.info.seconds["total"] = seconds_since(t0);
    if (!r.info.passed() && o.on_failure == OnFailure::error) {
      std::string msg = "validation failed: ";
      for (size_t i = 0; i < r.info.problems.size(); ++i) msg += (i ? "; " : "") + r.info.problems[i];
      throw ValidationError(msg);
    }
    if (o.on_failure == OnFailure::ignore) r.info.problems.clear();
    return r;
  }
}

}  // namespace

QuantizeResult static_quantize(const Graph& g, const Calibration& calibration, const QuantizeOptions& options,
                               CalibrationSource* validation) {
  QuantizeOptions o = options;
  o.mode = QuantMode::static_quant;
  if (o.activation_type != DType::u8 && o.activation_type != DType::i8)
    fail<InvalidArgument>("activation type must be u8 or i8");
  return quantize_impl(g, &calibration, o, validation);
}

QuantizeResult dynamic_quantize(const Graph& g, const QuantizeOptions& options, CalibrationSource* validation) {
  QuantizeOptions o = options;
  o.mode = QuantMode::dynamic_quant;
  return quantize_impl(g, nullptr, o, validation);
}

namespace {
/// True when `a` and `b` are the same scalar constant (a QuantizeLinear and a
/// DequantizeLinear with the same scale and zero point).
bool same_constant(const Value* a, const Value* b) {
  if (a == b) return true;
  if (!a || !b || !a->is_constant() || !b->is_constant()) return false;
  return *a->constant() == *b->constant();
}

void dequantize_graph(Graph& out) {
  std::vector<std::string> output_names;
  for (Value* v : out.outputs()) output_names.push_back(v->name());
  // each quantized node back to float by the pattern that made it
  for (Node* n : out.nodes()) {
    if (const quant::Pattern* p = quant::pattern_producing(n->op())) {
      p->to_float(out, n);
    } else if (const quant::Pattern* f = quant::pattern_for(*n)) {
      f->to_float(out, n);
    }
  }
  // the quantization of activations between them goes: DequantizeLinear(QuantizeLinear(x)) is x
  for (Node* n : out.nodes()) {
    if (n->op() != OpKind::DequantizeLinear || !n->input(0)) continue;
    Node* q = n->input(0)->producer();
    if (!q || q->op() != OpKind::QuantizeLinear || !same_constant(q->input(1), n->input(1)) ||
        !same_constant(q->input(2), n->input(2)))
      continue;
    out.replace_all_uses(n->output(0), q->input(0));
  }
  out.remove_unused();
  out.topo_sort();
  // keep the model's output names
  for (size_t i = 0; i < output_names.size(); ++i)
    if (out.outputs()[i]->name() != output_names[i] && !out.find_value(output_names[i]))
      out.rename_value(out.outputs()[i], output_names[i]);
}
}  // namespace

Graph dequantize_model(const Graph& g) {
  Graph out = g.clone();
  for_each_graph(out, dequantize_graph);  // the layers of If / Loop / Scan bodies too
  return out;
}

}  // namespace mq
