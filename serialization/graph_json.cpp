// Graph ↔ JSON description.
#include "serialization/graph_json.h"

#include <cstring>

#include "ir/control_flow.h"
#include "ir/verifier.h"
#include "serialization/limits.h"
#include "serialization/io.h"
#include "serialization/json_util.h"

namespace mq::serialization {

using detail::json;

namespace {

[[noreturn]] void bad(const std::string& ctx, const std::string& msg) { fail<FormatError>(ctx, ": ", msg); }

const json& field(const json& j, const char* key, const std::string& ctx) {
  if (!j.is_object() || !j.contains(key)) bad(ctx, std::string("missing '") + key + "'");
  return j[key];
}
std::string get_string(const json& j, const char* key, const std::string& ctx) {
  const json& v = field(j, key, ctx);
  if (!v.is_string()) bad(ctx, std::string("'") + key + "' must be a string");
  return v.get<std::string>();
}
const json& get_array(const json& j, const char* key, const std::string& ctx) {
  const json& v = field(j, key, ctx);
  if (!v.is_array()) bad(ctx, std::string("'") + key + "' must be an array");
  return v;
}
int64_t as_int(const json& v, const std::string& ctx) {
  if (!v.is_number_integer()) bad(ctx, "expected an integer, got " + printable(v.dump()));
  return v.get<int64_t>();
}
DType as_dtype(const json& v, const std::string& ctx) {
  if (!v.is_string()) bad(ctx, "dtype must be a string");
  DType d = dtype_from_name(v.get<std::string>());
  if (d == DType::undefined && v.get<std::string>() != "undefined")
    bad(ctx, "unknown dtype '" + printable(v.get<std::string>()) + "'");
  return d;
}

json quant_to_json(const QuantParams& q) {
  json j;
  j["qtype"] = std::string(dtype_name(q.qtype));
  json s = json::array();
  for (float f : q.scales) s.push_back(detail::float_to_json(f));
  j["scales"] = s;
  j["zero_points"] = q.zero_points;
  if (q.axis) j["axis"] = *q.axis;
  return j;
}

QuantParams quant_from_json(const json& j, const std::string& ctx) {
  QuantParams q;
  q.qtype = as_dtype(field(j, "qtype", ctx), ctx + ": qtype");
  for (auto& s : get_array(j, "scales", ctx)) q.scales.push_back(detail::float_from_json(s, ctx + ": scales"));
  for (auto& z : get_array(j, "zero_points", ctx)) {
    int64_t v = as_int(z, ctx + ": zero_points");
    if (v < INT32_MIN || v > INT32_MAX) bad(ctx, "zero point out of int32 range");
    q.zero_points.push_back(int32_t(v));
  }
  if (q.scales.size() != q.zero_points.size()) bad(ctx, "scales and zero_points differ in length");
  if (j.contains("axis")) q.axis = as_int(j["axis"], ctx + ": axis");
  return q;
}

json type_to_json(const ValueType& t) {
  json j;
  j["dtype"] = std::string(dtype_name(t.dtype));
  if (!t.shape.has_rank()) {
    j["shape"] = nullptr;
  } else {
    json dims = json::array();
    for (const Dim& d : t.shape.dims()) {
      if (d.is_static()) dims.push_back(d.value);
      else if (!d.symbol.empty()) dims.push_back(d.symbol);
      else dims.push_back(nullptr);
    }
    j["shape"] = dims;
  }
  if (t.quant) j["quant"] = quant_to_json(*t.quant);
  return j;
}

ValueType type_from_json(const json& j, const std::string& ctx) {
  ValueType t;
  t.dtype = as_dtype(field(j, "dtype", ctx), ctx + ": dtype");
  const json& s = field(j, "shape", ctx);
  if (s.is_null()) {
    t.shape = Shape::unknown_rank();
  } else if (s.is_array()) {
    std::vector<Dim> dims;
    for (auto& d : s) {
      if (d.is_null()) dims.emplace_back();
      else if (d.is_string()) dims.push_back(Dim::sym(d.get<std::string>()));
      else if (d.is_number_integer() && d.get<int64_t>() >= 0) dims.emplace_back(d.get<int64_t>());
      else bad(ctx, "bad dimension " + printable(d.dump()));
    }
    t.shape = Shape(std::move(dims));
  } else {
    bad(ctx, "shape must be an array or null");
  }
  if (j.contains("quant")) t.quant = quant_from_json(j["quant"], ctx + ": quant");
  return t;
}

std::string to_hex(const void* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s(n * 2, '0');
  auto* b = static_cast<const uint8_t*>(p);
  for (size_t i = 0; i < n; ++i) {
    s[2 * i] = digits[b[i] >> 4];
    s[2 * i + 1] = digits[b[i] & 15];
  }
  return s;
}

json attr_to_json(const AttrValue& v) {
  json j;
  j["type"] = attr_type_name(v);
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, float>) {
          j["value"] = detail::float_to_json(x);
        } else if constexpr (std::is_same_v<T, std::vector<float>>) {
          json a = json::array();
          for (float f : x) a.push_back(detail::float_to_json(f));
          j["value"] = a;
        } else if constexpr (std::is_same_v<T, GraphRef>) {
          fail<InvalidArgument>("graph attributes are written by graph_body");
        } else if constexpr (std::is_same_v<T, Tensor>) {
          json t;
          t["dtype"] = std::string(dtype_name(x.dtype()));
          t["dims"] = x.dims();
          t["hex"] = to_hex(x.raw(), x.nbytes());
          if (x.quant()) t["quant"] = quant_to_json(*x.quant());
          j["value"] = t;
        } else {
          j["value"] = x;
        }
      },
      v);
  return j;
}

AttrValue attr_from_json(const json& j, const std::string& ctx) {
  std::string type = get_string(j, "type", ctx);
  const json& v = field(j, "value", ctx);
  auto array = [&]() -> const json& {
    if (!v.is_array()) bad(ctx, type + " attribute value must be an array");
    return v;
  };
  if (type == "int") return as_int(v, ctx);
  if (type == "float") return detail::float_from_json(v, ctx);
  if (type == "string") {
    if (!v.is_string()) bad(ctx, "string attribute value must be a string");
    return v.get<std::string>();
  }
  if (type == "ints") {
    std::vector<int64_t> r;
    for (auto& x : array()) r.push_back(as_int(x, ctx));
    return r;
  }
  if (type == "floats") {
    std::vector<float> r;
    for (auto& x : array()) r.push_back(detail::float_from_json(x, ctx));
    return r;
  }
  if (type == "strings") {
    std::vector<std::string> r;
    for (auto& x : array()) {
      if (!x.is_string()) bad(ctx, "strings attribute holds a non-string");
      r.push_back(x.get<std::string>());
    }
    return r;
  }
  if (type == "tensor") {
    DType dt = as_dtype(field(v, "dtype", ctx), ctx + ": dtype");
    if (dt == DType::undefined) bad(ctx, "tensor attribute without a dtype");
    std::vector<int64_t> dims;
    uint64_t numel = 1;
    for (auto& d : get_array(v, "dims", ctx)) {
      int64_t x = as_int(d, ctx + ": dims");
      if (x < 0) bad(ctx, "negative dimension");
      numel = checked_mul(numel, uint64_t(x), ctx);
      dims.push_back(x);
    }
    std::string hex = get_string(v, "hex", ctx);
    if (numel > (uint64_t(1) << 40) || hex.size() != checked_mul(numel, dtype_size(dt), ctx) * 2)
      bad(ctx, "tensor attribute data does not match its dims and dtype");
    Tensor t(dt, dims);
    auto* p = static_cast<uint8_t*>(t.raw());
    for (size_t i = 0; i < t.nbytes(); ++i) {
      auto nib = [&](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        bad(ctx, "bad hex digit in tensor attribute");
      };
      p[i] = uint8_t(nib(hex[2 * i]) << 4 | nib(hex[2 * i + 1]));
    }
    if (v.contains("quant")) t.set_quant(quant_from_json(v["quant"], ctx + ": quant"));
    return t;
  }
  bad(ctx, "unknown attribute type '" + printable(type) + "'");
}

}  // namespace

std::string value_type_to_json(const ValueType& t) { return type_to_json(t).dump(); }

namespace {
bool has_subgraphs(const Graph& g) {
  for (Node* n : g.nodes())
    if (!subgraphs(*n).empty()) return true;
  return false;
}

// The storage key prefix of the constants of subgraph `attr` of node `n` under `prefix`.
std::string sub_prefix(const std::string& prefix, const Node& n, const std::string& attr) {
  return prefix + n.name() + "/" + attr + "/";
}

// Inputs, constants, nodes and outputs of `g`; constants of subgraphs carry their storage
// key ("key"), which `prefix` starts.
json graph_body(const Graph& g, const std::string& prefix) {
  json j;
  json inputs = json::array(), consts = json::array(), nodes = json::array(), outputs = json::array();
  for (Value* v : g.inputs()) inputs.push_back({{"name", v->name()}, {"type", type_to_json(v->type())}});
  for (Value* v : g.values())
    if (v->is_constant()) {
      json c = {{"name", v->name()}, {"type", type_to_json(v->type())}};
      if (!prefix.empty()) c["key"] = prefix + v->name();
      consts.push_back(std::move(c));
    }
  for (Node* n : g.nodes()) {
    json jn;
    jn["name"] = n->name();
    jn["op"] = std::string(n->op_name());
    json ins = json::array();
    for (Value* v : n->inputs()) ins.push_back(v ? json(v->name()) : json(nullptr));
    jn["inputs"] = ins;
    json outs = json::array();
    for (Value* v : n->outputs()) outs.push_back({{"name", v->name()}, {"type", type_to_json(v->type())}});
    jn["outputs"] = outs;
    json attrs = json::object();
    for (auto& [k, a] : n->attrs().all()) {
      if (auto* sub = std::get_if<GraphRef>(&a)) {
        if (!*sub) fail<InvalidArgument>(n->describe(), ": attribute '", k, "' holds no graph");
        json body = graph_body(**sub, sub_prefix(prefix, *n, k));
        body["name"] = (*sub)->name;
        attrs[k] = {{"type", "graph"}, {"value", std::move(body)}};
      } else {
        attrs[k] = attr_to_json(a);
      }
    }
    jn["attrs"] = attrs;
    nodes.push_back(std::move(jn));
  }
  for (Value* v : g.outputs()) outputs.push_back(v->name());
  j["inputs"] = inputs;
  j["constants"] = consts;
  j["nodes"] = nodes;
  j["outputs"] = outputs;
  return j;
}

void stored_constants(const Graph& g, const std::string& prefix,
                      std::vector<std::pair<std::string, const Value*>>& r) {
  for (Value* v : g.values())
    if (v->is_constant()) r.emplace_back(prefix + v->name(), v);
  for (Node* n : g.nodes())
    for (auto& [attr, sub] : subgraphs(*n)) stored_constants(*sub, sub_prefix(prefix, *n, attr), r);
}
}  // namespace

std::vector<std::pair<std::string, const Value*>> stored_constants(const Graph& g) {
  std::vector<std::pair<std::string, const Value*>> r;
  stored_constants(g, "", r);
  return r;
}

std::string graph_to_json(const Graph& g) {
  json j = graph_body(g, "");
  j["format"] = "monoquant.graph";
  j["version"] = has_subgraphs(g) ? kGraphJsonVersion : 1;  // version 1 readers read graphs without subgraphs
  j["name"] = g.name;
  j["opset"] = g.opset;
  j["metadata"] = g.metadata;
  return j.dump();
}

namespace {
// Fills `g` from graph_body's JSON; `depth` counts the subgraphs around it.
void read_body(Graph& g, const json& j, const ConstantSource& constants, const std::string& ctx,
               const std::string& file, int depth) {
  for (auto& in : get_array(j, "inputs", ctx)) {
    std::string name = get_string(in, "name", ctx + ": input");
    std::string c = ctx + ": input '" + printable(name) + "'";
    if (g.find_value(name)) bad(c, "duplicate value name");
    g.add_input(name, type_from_json(field(in, "type", c), c));
  }
  for (auto& cj : get_array(j, "constants", ctx)) {
    std::string name = get_string(cj, "name", ctx + ": constant");
    std::string c = ctx + ": constant '" + printable(name) + "'";
    if (g.find_value(name)) bad(c, "duplicate value name");
    ValueType t = type_from_json(field(cj, "type", c), c);
    std::string key = depth > 0 ? get_string(cj, "key", c) : name;
    Tensor data = constants(key, t);
    if (data.dtype() != t.dtype || !(Shape(data.dims()) == t.shape))
      bad(c, "tensor data is " + std::string(dtype_name(data.dtype())) + Shape(data.dims()).str() +
                 " but the description says " + t.str());
    Value* v = g.add_constant(name, std::move(data));
    v->set_type(t);
  }
  for (auto& nj : get_array(j, "nodes", ctx)) {
    std::string name = get_string(nj, "name", ctx + ": node");
    std::string c = ctx + ": node '" + printable(name) + "'";
    if (g.find_node(name)) bad(c, "duplicate node name");
    std::string opname = get_string(nj, "op", c);
    auto op = op_from_name(opname);
    if (!op) fail<UnsupportedError>(c, ": unknown op '", printable(opname), "'");
    NodeSpec spec;
    spec.name = name;
    for (auto& in : get_array(nj, "inputs", c)) {
      if (in.is_null()) {
        spec.inputs.push_back(nullptr);
      } else if (in.is_string()) {
        Value* v = g.find_value(in.get<std::string>());
        if (!v) bad(c, "reads undefined value '" + printable(in.get<std::string>()) + "'");
        spec.inputs.push_back(v);
      } else {
        bad(c, "inputs must be value names or null");
      }
    }
    std::vector<ValueType> out_types;
    for (auto& o : get_array(nj, "outputs", c)) {
      std::string oname = get_string(o, "name", c + ": output");
      if (g.find_value(oname)) bad(c, "output '" + printable(oname) + "' is already defined");
      for (auto& prev : spec.output_names)
        if (prev == oname) bad(c, "output '" + printable(oname) + "' appears twice");
      spec.output_names.push_back(oname);
      out_types.push_back(type_from_json(field(o, "type", c), c + ": output '" + printable(oname) + "'"));
    }
    if (spec.output_names.empty()) bad(c, "a node needs at least one output");
    spec.num_outputs = spec.output_names.size();
    const json& attrs = field(nj, "attrs", c);
    if (!attrs.is_object()) bad(c, "'attrs' must be an object");
    for (auto& [k, a] : attrs.items()) {
      std::string actx = c + ": attribute '" + printable(k) + "'";
      if (a.is_object() && a.contains("type") && a["type"] == "graph") {
        if (depth + 1 > limits::kMaxSubgraphDepth)
          bad(actx, "subgraphs nested more than " + std::to_string(limits::kMaxSubgraphDepth) + " deep");
        const json& body = field(a, "value", actx);
        auto sub = std::make_shared<Graph>();
        sub->name = get_string(body, "name", actx);
        sub->opset = g.opset;
        read_body(*sub, body, constants, actx, file, depth + 1);
        spec.attrs.set(k, std::move(sub));
      } else {
        spec.attrs.set(k, attr_from_json(a, actx));
      }
    }
    Node* n = with_context(file, [&] { return g.add_node(*op, std::move(spec)); });
    for (size_t i = 0; i < out_types.size(); ++i) n->output(i)->set_type(out_types[i]);
  }
  for (auto& o : get_array(j, "outputs", ctx)) {
    if (!o.is_string()) bad(ctx, "outputs must be value names");
    Value* v = g.find_value(o.get<std::string>());
    if (!v) bad(ctx, "output '" + printable(o.get<std::string>()) + "' is not defined");
    g.add_output(v);
  }
}
}  // namespace

Graph graph_from_json(const std::string& text, const ConstantSource& constants, const std::string& file) {
  const std::string ctx = file + ": graph description";
  json j = detail::parse_json_strict(text, ctx);
  if (!j.is_object()) bad(ctx, "must be a JSON object");
  if (get_string(j, "format", ctx) != "monoquant.graph") bad(ctx, "'format' is not monoquant.graph");
  int64_t version = as_int(field(j, "version", ctx), ctx + ": version");
  if (version < 1 || version > kGraphJsonVersion)
    fail<UnsupportedError>(ctx, ": version ", version, " is newer than this monoquant supports (",
                           kGraphJsonVersion, ")");
  Graph g;
  g.name = get_string(j, "name", ctx);
  g.opset = as_int(field(j, "opset", ctx), ctx + ": opset");
  const json& meta = field(j, "metadata", ctx);
  if (!meta.is_object()) bad(ctx, "'metadata' must be an object");
  for (auto& [k, v] : meta.items()) {
    if (!v.is_string()) bad(ctx, "metadata '" + printable(k) + "' is not a string");
    g.metadata[k] = v.get<std::string>();
  }
  read_body(g, j, constants, ctx, file, 0);
  with_context(file, [&] { verify(g); });  // stored types must be what the ops give
  return g;
}

}  // namespace mq::serialization
