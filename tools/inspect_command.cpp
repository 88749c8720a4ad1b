// monoquant inspect: what a model holds — inputs, outputs, op counts, parameters, sizes and
// how each layer is quantized — for every format monoquant reads.
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "engine/api.h"
#include "engine/quantize/patterns/pattern.h"
#include "tools/common.h"

namespace mq::cli {

namespace {

struct InspectArgs {
  std::string model;
  bool json = false;
  bool no_optimize = false;
};

bool is_layer(OpKind op) {
  switch (op) {
    case OpKind::Linear:
    case OpKind::Conv2d:
    case OpKind::LSTM:
    case OpKind::GRU:
    case OpKind::RNN:
    case OpKind::MatMul:
    case OpKind::Gemm:
    case OpKind::QLinear:
    case OpKind::QConv2d:
    case OpKind::QLSTM:
    case OpKind::DynamicQLinear:
    case OpKind::DynamicQLSTM:
    case OpKind::QLinearMatMul:
    case OpKind::QLinearConv:
    case OpKind::MatMulInteger:
    case OpKind::ConvInteger: return true;
    default: return false;
  }
}

/// monoquant's own quantized ops (the registry's patterns produce them) and the quantized
/// ops of imported ONNX files.
bool is_quantized_layer(OpKind op) {
  if (quant::pattern_producing(op)) return true;
  switch (op) {
    case OpKind::QLinearMatMul:
    case OpKind::QLinearConv:
    case OpKind::MatMulInteger:
    case OpKind::ConvInteger: return true;
    default: return false;
  }
}

std::optional<QuantParams> quant_of(const Value* v) {
  if (!v) return std::nullopt;
  if (v->type().quant) return v->type().quant;
  if (v->constant() && v->constant()->quant()) return v->constant()->quant();
  return std::nullopt;
}

std::string quant_text(const std::optional<QuantParams>& q) {
  if (!q) return "";
  std::string s = std::string(dtype_name(q->qtype));
  if (q->per_channel())
    s += " per-channel(axis " + std::to_string(*q->axis) + ", " + std::to_string(q->scales.size()) + ")";
  else if (!q->scales.empty())
    s += " per-tensor scale=" + fixed(q->scales[0], 6) +
         " zp=" + std::to_string(q->zero_points.empty() ? 0 : q->zero_points[0]);
  return s;
}

/// The integer constant behind a DequantizeLinear feeding `v` (a QDQ ONNX weight), if any.
const Node* qdq_dequantize(const Value* v) {
  const Node* p = v ? v->producer() : nullptr;
  if (!p || p->op() != OpKind::DequantizeLinear || !p->input(0)) return nullptr;
  return p;
}

/// The weight operands of a layer: constant inputs of rank >= 2, or the integer constants
/// of DequantizeLinear nodes feeding it (QDQ models).
std::vector<const Value*> weights_of(const Node& n) {
  std::vector<const Value*> w;
  for (size_t i = 0; i < n.inputs().size(); ++i) {
    const Value* v = n.input(i);
    if (v && v->is_constant() && v->constant()->rank() >= 2) w.push_back(v);
    else if (const Node* dq = qdq_dequantize(v);
             i > 0 && dq && dq->input(0)->is_constant() && dq->input(0)->constant()->rank() >= 2)
      w.push_back(dq->input(0));
  }
  return w;
}

/// The second operand of an integer matrix product (QLinearMatMul's b, MatMulInteger's B), or null.
const Value* product_operand(const Node& n) {
  if (n.op() == OpKind::QLinearMatMul) return n.input(3);
  if (n.op() == OpKind::MatMulInteger) return n.input(1);
  return nullptr;
}

/// True when `v` is quantized per call (an output of DynamicQuantizeLinear).
bool from_dynamic_quantize(const Value* v) {
  return v && v->producer() && v->producer()->op() == OpKind::DynamicQuantizeLinear;
}

/// "qdq w:i8 per-channel(16) a:u8" for a float layer between DequantizeLinear nodes, or "".
std::string qdq_scheme(const Node& n) {
  const Node* wdq = qdq_dequantize(n.input(1));
  if (!wdq || !wdq->input(0)->is_constant() || !is_integer(wdq->input(0)->dtype())) return "";
  const Value* scale = wdq->input(1);
  int64_t channels = scale && scale->is_constant() ? scale->constant()->numel() : 1;
  std::string w = std::string(dtype_name(wdq->input(0)->dtype())) +
                  (channels > 1 ? " per-channel(" + std::to_string(channels) + ")" : " per-tensor");
  const Node* xdq = qdq_dequantize(n.input(0));
  std::string a = xdq ? std::string(dtype_name(xdq->input(0)->dtype())) : "f32 (dynamic or float)";
  return "qdq w:" + w + " a:" + a;
}

nlohmann::json describe(const Graph& g, const std::string& path) {
  nlohmann::json js;
  js["file"] = path;
  js["format"] = serialization::file_extension(path);
  js["file_bytes"] = file_bytes(path);
  js["name"] = g.name;
  js["opset"] = g.opset;
  auto value_js = [](const Value* v) {
    nlohmann::json o{
        {"name", v->name()}, {"dtype", std::string(dtype_name(v->dtype()))}, {"shape", v->shape().str()}};
    if (v->type().quant) o["quant"] = quant_text(v->type().quant);
    return o;
  };
  js["inputs"] = nlohmann::json::array();
  for (const Value* v : g.inputs()) js["inputs"].push_back(value_js(v));
  js["outputs"] = nlohmann::json::array();
  for (const Value* v : g.outputs()) js["outputs"].push_back(value_js(v));

  std::map<std::string, int64_t> ops;
  for (const Node* n : g.nodes()) ops[std::string(n->op_name())]++;
  js["nodes"] = g.node_count();
  js["ops"] = ops;

  int64_t params = 0, bytes = 0, constants = 0;
  std::map<std::string, int64_t> by_dtype;
  for (const Value* v : g.values()) {
    if (!v->is_constant()) continue;
    ++constants;
    params += v->constant()->numel();
    bytes += int64_t(v->constant()->nbytes());
    by_dtype[std::string(dtype_name(v->constant()->dtype()))] += int64_t(v->constant()->nbytes());
  }
  js["constants"] = constants;
  js["parameters"] = params;
  js["constant_bytes"] = bytes;
  js["bytes_by_dtype"] = by_dtype;

  js["layers"] = nlohmann::json::array();
  int64_t quantized = 0;
  for (const Node* n : g.nodes()) {
    if (!is_layer(n->op())) continue;
    nlohmann::json l{{"name", n->name()}, {"op", std::string(n->op_name())}};
    auto w = weights_of(*n);
    int64_t wparams = 0;
    nlohmann::json ws = nlohmann::json::array();
    for (const Value* v : w) {
      wparams += v->constant()->numel();
      ws.push_back({{"name", v->name()},
                    {"dtype", std::string(dtype_name(v->constant()->dtype()))},
                    {"shape", v->constant()->dims()},
                    {"quant", quant_text(quant_of(v))}});
    }
    l["weights"] = ws;
    l["parameters"] = wparams;
    std::string qdq = is_quantized_layer(n->op()) ? "" : qdq_scheme(*n);
    bool q = is_quantized_layer(n->op()) || !qdq.empty();
    quantized += q;
    l["quantized"] = q;
    std::string scheme = qdq.empty() ? "float" : qdq;
    if (q && qdq.empty()) {
      // (a DynamicQLinear reading an int8 input reads it at that input's static parameters)
      bool dynamic = (n->op() == OpKind::DynamicQLinear && n->input(0)->dtype() == DType::f32) ||
                     n->op() == OpKind::DynamicQLSTM || from_dynamic_quantize(n->input(0));
      std::string aq = dynamic ? "dynamic u8" : quant_text(quant_of(n->input(0)));
      if (const Value* b = product_operand(*n); b && w.empty()) {
        // a product of two activations (the matmul pattern)
        std::string bq = dynamic ? "dynamic u8" : quant_text(quant_of(b));
        scheme = std::string(dynamic ? "dynamic" : "static") + " a:" + (aq.empty() ? "?" : aq) +
                 " b:" + (bq.empty() ? "?" : bq);
      } else {
        std::string wq = w.empty() ? "" : quant_text(quant_of(w[0]));
        scheme = std::string(dynamic ? "dynamic" : "static") + " w:" + (wq.empty() ? "?" : wq) +
                 " a:" + (aq.empty() ? "?" : aq);
      }
    }
    if (const quant::Pattern* p = quant::pattern_producing(n->op())) l["pattern"] = std::string(p->name());
    l["scheme"] = scheme;
    if (n->attrs().has("activation")) {
      try {
        l["activation"] = n->attrs().get_string("activation");
      } catch (const std::exception&) {
      }
    }
    js["layers"].push_back(l);
  }
  js["quantized_layers"] = quantized;
  return js;
}

void print_text(const nlohmann::json& js) {
  std::ostringstream s;
  s << "model      " << js["file"].get<std::string>() << " (" << js["format"].get<std::string>() << ", "
    << human_bytes(js["file_bytes"].get<int64_t>()) << ")\n";
  if (!js["name"].get<std::string>().empty()) s << "name       " << js["name"].get<std::string>() << '\n';
  if (js["opset"].get<int64_t>()) s << "opset      " << js["opset"].get<int64_t>() << '\n';
  for (auto& v : js["inputs"])
    s << "input      " << v["name"].get<std::string>() << "  " << v["dtype"].get<std::string>() << ' '
      << v["shape"].get<std::string>() << (v.contains("quant") ? "  " + v["quant"].get<std::string>() : "")
      << '\n';
  for (auto& v : js["outputs"])
    s << "output     " << v["name"].get<std::string>() << "  " << v["dtype"].get<std::string>() << ' '
      << v["shape"].get<std::string>() << (v.contains("quant") ? "  " + v["quant"].get<std::string>() : "")
      << '\n';
  s << "nodes      " << js["nodes"].get<int64_t>() << "  (";
  bool first = true;
  std::vector<std::pair<int64_t, std::string>> ops;
  for (auto& [k, v] : js["ops"].items()) ops.emplace_back(-v.get<int64_t>(), k);
  std::sort(ops.begin(), ops.end());
  for (auto& [c, k] : ops) {
    s << (first ? "" : ", ") << k << " " << -c;
    first = false;
  }
  s << ")\n";
  s << "parameters " << js["parameters"].get<int64_t>() << " in " << js["constants"].get<int64_t>()
    << " constants, " << human_bytes(js["constant_bytes"].get<int64_t>()) << " (";
  first = true;
  for (auto& [k, v] : js["bytes_by_dtype"].items()) {
    s << (first ? "" : ", ") << k << " " << human_bytes(v.get<int64_t>());
    first = false;
  }
  s << ")\n";
  s << "layers     " << js["layers"].size() << ", " << js["quantized_layers"].get<int64_t>() << " quantized\n";
  if (!js["layers"].empty()) {
    size_t wn = 5, wo = 2;
    for (auto& l : js["layers"]) {
      wn = std::max(wn, l["name"].get<std::string>().size());
      wo = std::max(wo, l["op"].get<std::string>().size());
    }
    auto pad = [](std::string t, size_t w) { return t + std::string(w > t.size() ? w - t.size() : 0, ' '); };
    s << '\n'
      << pad("layer", wn) << "  " << pad("op", wo) << "  " << pad("pattern", 8) << "  " << pad("params", 10)
      << "  scheme\n";
    for (auto& l : js["layers"]) {
      std::string sch = l["scheme"].get<std::string>();
      if (l.contains("activation") && !l["activation"].get<std::string>().empty())
        sch += " +" + l["activation"].get<std::string>();
      s << pad(l["name"].get<std::string>(), wn) << "  " << pad(l["op"].get<std::string>(), wo) << "  "
        << pad(l.value("pattern", std::string("-")), 8) << "  "
        << pad(std::to_string(l["parameters"].get<int64_t>()), 10) << "  " << sch << '\n';
    }
  }
  std::cout << s.str();
}

int inspect_model(const InspectArgs& a) {
  Graph g = load_model(a.model, {.optimize = !a.no_optimize});
  nlohmann::json js = describe(g, a.model);
  if (a.json) std::cout << js.dump(2) << '\n';
  else print_text(js);
  return kOk;
}

}  // namespace

void add_inspect_command(CLI::App& app, Runner& run) {
  auto a = std::make_shared<InspectArgs>();
  auto* cmd =
      app.add_subcommand("inspect", "Summarize a model: inputs, outputs, ops, parameters, sizes, quantization");
  cmd->add_option("model", a->model, "Model file (.onnx, .mqm, .safetensors, .pt, .pth)")->required();
  cmd->add_flag("--json", a->json, "Print the summary as JSON");
  cmd->add_flag("--no-optimize", a->no_optimize, "Show an ONNX model as imported, before the graph passes");
  cmd->callback([a, &run] { run = [a] { return inspect_model(*a); }; });
}

}  // namespace mq::cli
