// Reads an ONNX ModelProto and builds the IR graph node by node through the builder registry.
#include "importers/onnx/import.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "importers/onnx/builder.h"
#include "importers/onnx/tensor_proto.h"
#include "ir/control_flow.h"

namespace mq::onnx {

namespace {

constexpr int64_t kMinOpset = 6;
constexpr int64_t kMaxOpset = 21;

constexpr int kMaxNesting = 16;  // subgraphs inside subgraphs, at most

bool is_control_flow_op(const ::onnx::NodeProto& n) {
  const bool default_domain = n.domain().empty() || n.domain() == "ai.onnx";
  return default_domain && (n.op_type() == "If" || n.op_type() == "Loop" || n.op_type() == "Scan");
}

bool is_graph_attr(const ::onnx::AttributeProto& at) {
  using AP = ::onnx::AttributeProto;
  return at.type() == AP::GRAPH || at.type() == AP::GRAPHS || at.has_g() || at.graphs_size() > 0;
}

// Names a graph reads from enclosing graphs, in first-use order: read by its nodes (or by
// graphs nested in them) or listed as its outputs, and defined neither by its inputs, its
// initializers nor its nodes before the read.
std::vector<std::string> free_names(const ::onnx::GraphProto& gp, int depth) {
  if (depth > kMaxNesting) fail<UnsupportedError>("subgraphs are nested more than ", kMaxNesting, " deep");
  std::unordered_set<std::string> defined, seen;
  std::vector<std::string> r;
  auto use = [&](const std::string& name) {
    if (!name.empty() && !defined.count(name) && seen.insert(name).second) r.push_back(name);
  };
  for (const auto& in : gp.input()) defined.insert(in.name());
  for (const auto& in : gp.initializer()) defined.insert(in.name());
  for (const auto& n : gp.node()) {
    for (const auto& in : n.input()) use(in);
    for (const auto& at : n.attribute()) {
      if (at.has_g())
        for (auto& name : free_names(at.g(), depth + 1)) use(name);
      for (const auto& sub : at.graphs())
        for (auto& name : free_names(sub, depth + 1)) use(name);
    }
    for (const auto& out : n.output()) defined.insert(out);
  }
  for (const auto& out : gp.output()) use(out.name());
  return r;
}

Attributes convert_attributes(const ::onnx::NodeProto& n, const std::string& base_dir) {
  Attributes a;
  for (const auto& at : n.attribute()) {
    if (is_control_flow_op(n) && is_graph_attr(at)) continue;  // built by build_control_flow
    with_context("attribute '" + at.name() + "'", [&] {
      using AP = ::onnx::AttributeProto;
      switch (at.type()) {
        case AP::INT: a.set(at.name(), int64_t(at.i())); break;
        case AP::FLOAT: a.set(at.name(), at.f()); break;
        case AP::STRING: a.set(at.name(), at.s()); break;
        case AP::INTS: a.set(at.name(), std::vector<int64_t>(at.ints().begin(), at.ints().end())); break;
        case AP::FLOATS: a.set(at.name(), std::vector<float>(at.floats().begin(), at.floats().end())); break;
        case AP::STRINGS:
          a.set(at.name(), std::vector<std::string>(at.strings().begin(), at.strings().end()));
          break;
        case AP::TENSOR: a.set(at.name(), tensor_from_proto(at.t(), base_dir)); break;
        case AP::UNDEFINED:
          // Old exporters leave the type unset: infer it from the field that is filled.
          if (at.has_i()) a.set(at.name(), int64_t(at.i()));
          else if (at.has_f()) a.set(at.name(), at.f());
          else if (at.has_s()) a.set(at.name(), at.s());
          else if (at.ints_size()) a.set(at.name(), std::vector<int64_t>(at.ints().begin(), at.ints().end()));
          else if (at.floats_size()) a.set(at.name(), std::vector<float>(at.floats().begin(), at.floats().end()));
          else if (at.has_t()) a.set(at.name(), tensor_from_proto(at.t(), base_dir));
          else fail<FormatError>("has no type and no value");
          break;
        default: fail<UnsupportedError>("type ", int(at.type()), " (graphs, sparse tensors) is not supported");
      }
      return 0;
    });
  }
  return a;
}

ValueType type_from_value_info(const ::onnx::ValueInfoProto& vi) {
  ValueType t;
  if (!vi.type().has_tensor_type())
    fail<UnsupportedError>("value '", vi.name(), "' is not a tensor (sequences and maps are not supported)");
  const auto& tt = vi.type().tensor_type();
  t.dtype = dtype_from_onnx(tt.elem_type());
  if (t.dtype == DType::undefined)
    fail<UnsupportedError>("value '", vi.name(), "' has unsupported element type ", tt.elem_type());
  if (tt.has_shape()) {
    std::vector<Dim> dims;
    for (const auto& d : tt.shape().dim()) {
      if (d.has_dim_value()) dims.emplace_back(d.dim_value());
      else dims.push_back(Dim::sym(d.dim_param()));
    }
    t.shape = Shape(std::move(dims));
  }
  return t;
}

struct Importer {
  const std::string& name;
  std::string base_dir;
  Graph g;
  std::unordered_map<std::string, Value*> env;  // ONNX name → IR value
  int64_t opset = 0;
  int depth = 0;  // 0 for the model's graph, 1 for its subgraphs, ...

  void run(const ::onnx::ModelProto& m) {
    int64_t opset = 0;
    for (const auto& o : m.opset_import())
      if (o.domain().empty() || o.domain() == "ai.onnx") opset = o.version();
    if (m.opset_import_size() == 0) opset = 1;
    if (opset < kMinOpset || opset > kMaxOpset)
      fail<UnsupportedError>("default-domain opset ", opset, " is not supported (supported: ", kMinOpset, " to ",
                             kMaxOpset, ")");
    if (!m.has_graph()) fail<FormatError>("the model has no graph");
    const auto& gp = m.graph();
    g.name = gp.name();
    g.opset = opset;
    g.metadata["producer_name"] = m.producer_name();
    for (const auto& kv : m.metadata_props()) g.metadata[kv.key()] = kv.value();

    this->opset = opset;
    check_supported(gp);
    build_graph(gp, {}, {}, {});
  }

  // Fills `g` from `gp`. `fallback` types the own inputs that declare no type (a Loop or Scan
  // body's inputs may leave them to the node's operands); `outer` are the values read from
  // enclosing graphs, added as trailing inputs under their names; `outer_constants` are the
  // constants read from enclosing graphs, which become constants of this graph.
  void build_graph(const ::onnx::GraphProto& gp, const std::vector<ValueType>& fallback,
                   const std::vector<std::pair<std::string, ValueType>>& outer,
                   const std::vector<std::pair<std::string, Tensor>>& outer_constants) {
    for (const auto& init : gp.initializer()) {
      if (env.count(init.name())) fail<FormatError>("initializer '", init.name(), "' is defined twice");
      env[init.name()] = g.add_constant(init.name(), tensor_from_proto(init, base_dir));
    }
    int input_index = 0;
    for (const auto& in : gp.input()) {
      const size_t i = size_t(input_index++);
      if (env.count(in.name())) {
        if (depth > 0) fail<FormatError>("subgraph input '", in.name(), "' is defined twice");
        continue;  // an initializer also listed as input (IR < 4)
      }
      const bool typed = in.type().has_tensor_type() && in.type().tensor_type().elem_type() != 0;
      ValueType t = !typed && i < fallback.size() ? fallback[i] : type_from_value_info(in);
      if (typed && in.type().tensor_type().has_shape() == false && i < fallback.size() &&
          fallback[i].dtype == t.dtype)
        t.shape = fallback[i].shape;
      env[in.name()] = g.add_input(in.name(), t);
    }
    for (auto& [oname, type] : outer) env[oname] = g.add_input(oname, type);
    for (auto& [cname, data] : outer_constants) env[cname] = g.add_constant(cname, data);
    int index = 0;
    for (const auto& n : gp.node()) build(n, opset, index++);
    for (const auto& out : gp.output()) {
      auto it = env.find(out.name());
      if (it == env.end()) fail<FormatError>("graph output '", out.name(), "' is never produced");
      Value* v = it->second;
      if (!v->producer() || g.is_output(v)) {
        // an output that is an input, a constant or listed twice: give it its own node
        v = g.add_node(OpKind::Identity,
                       {.name = out.name() + "_identity", .inputs = {v}, .output_names = {out.name() + "_out"}})
                ->output(0);
      }
      g.add_output(v);
    }
  }

  using Missing = std::map<std::string, std::vector<std::string>>;
  // Collects the unsupported ops of `gp` and of its subgraphs.
  static void find_unsupported(const ::onnx::GraphProto& gp, Missing& missing, int depth) {
    if (depth > kMaxNesting) fail<UnsupportedError>("subgraphs are nested more than ", kMaxNesting, " deep");
    int index = 0;
    for (const auto& n : gp.node()) {
      const bool default_domain = n.domain().empty() || n.domain() == "ai.onnx";
      const bool known = (default_domain && (n.op_type() == "Constant" || is_control_flow_op(n))) ||
                         find_builder(builder_key(n));  // Constant: build_constant
      if (!known) {
        std::string key = n.op_type().empty() ? "(no op_type)" : printable(n.op_type());
        if (!default_domain) key = printable(n.domain()) + "::" + key;
        missing[key].push_back(n.name().empty() ? "#" + std::to_string(index) : printable(n.name()));
      }
      for (const auto& at : n.attribute()) {
        if (at.has_g()) find_unsupported(at.g(), missing, depth + 1);
        for (const auto& sub : at.graphs()) find_unsupported(sub, missing, depth + 1);
      }
      ++index;
    }
  }

  void check_supported(const ::onnx::GraphProto& gp) {
    Missing missing;
    find_unsupported(gp, missing, 0);
    if (missing.empty()) return;
    std::ostringstream os;
    os << missing.size() << " unsupported op" << (missing.size() > 1 ? "s" : "") << ": ";
    bool first = true;
    for (auto& [op, nodes] : missing) {
      os << (first ? "" : "; ") << op << " (node" << (nodes.size() > 1 ? "s " : " ");
      for (size_t i = 0; i < nodes.size() && i < 5; ++i) os << (i ? ", " : "") << "'" << nodes[i] << "'";
      if (nodes.size() > 5) os << ", and " << nodes.size() - 5 << " more";
      os << ")";
      first = false;
    }
    throw UnsupportedError(os.str());
  }

  void build(const ::onnx::NodeProto& n, int64_t opset, int index) {
    std::string node_name = n.name().empty() ? n.op_type() + "_" + std::to_string(index) : n.name();
    std::string ctx = "node '" + node_name + "' (" + n.op_type() + ")";
    with_context(ctx, [&] {
      std::vector<Value*> inputs;
      for (int i = 0; i < n.input_size(); ++i) {
        const std::string& in = n.input(i);
        if (in.empty()) {
          inputs.push_back(nullptr);
          continue;
        }
        auto it = env.find(in);
        if (it == env.end()) fail<FormatError>("input ", i, " '", in, "' is not defined before the node");
        inputs.push_back(it->second);
      }
      if (n.op_type() == "Constant") {
        build_constant(n, node_name);
        return 0;
      }
      if (is_control_flow_op(n)) {
        build_control_flow(n, node_name, std::move(inputs));
        return 0;
      }
      BuildContext c(g, n, opset, g.unique_name(node_name), std::move(inputs), convert_attributes(n, base_dir));
      const Builder builder = find_builder(builder_key(n));
      if (!builder) fail<UnsupportedError>("op '", printable(n.op_type()), "' is not supported");
      builder(c);
      for (int i = 0; i < n.output_size(); ++i) {
        if (n.output(i).empty()) continue;
        if (size_t(i) >= c.outputs.size() || !c.outputs[i]) {
          fail<UnsupportedError>("output ", i, " '", n.output(i),
                                 "' is not produced by monoquant's version of this op");
        }
        if (env.count(n.output(i))) fail<FormatError>("output '", n.output(i), "' is defined twice");
        env[n.output(i)] = c.outputs[i];
      }
      return 0;
    });
  }

  // If, Loop, Scan: each graph attribute becomes a subgraph; the names they read from this
  // graph (or graphs around it) become trailing operands of the node (ir/control_flow.h).
  void build_control_flow(const ::onnx::NodeProto& n, const std::string& node_name, std::vector<Value*> inputs) {
    const std::string& op = n.op_type();
    if (op == "Scan" && opset < 9)
      fail<UnsupportedError>("Scan before opset 9 (with a batch axis and sequence_lens) is not supported");
    Attributes attrs = convert_attributes(n, base_dir);
    std::vector<const ::onnx::AttributeProto*> graphs;
    for (const auto& at : n.attribute())
      if (is_graph_attr(at)) {
        if (!at.has_g()) fail<FormatError>("attribute '", at.name(), "' must hold one graph");
        graphs.push_back(&at);
      }
    // the values read from outside the subgraphs, in a fixed order
    std::vector<std::string> names;
    std::unordered_set<std::string> seen;
    for (auto* at : graphs)
      for (auto& nm :
           with_context("attribute '" + at->name() + "'", [&] { return free_names(at->g(), depth + 1); }))
        if (seen.insert(nm).second) names.push_back(nm);
    std::vector<std::pair<std::string, ValueType>> outer;
    std::vector<std::pair<std::string, Tensor>> outer_constants;  // initializers: constants of the subgraphs
    std::vector<Value*> outer_values;
    for (auto& nm : names) {
      auto it = env.find(nm);
      if (it == env.end())
        fail<FormatError>("a subgraph reads '", printable(nm), "', which is not defined before the node");
      if (it->second->is_constant()) {
        outer_constants.emplace_back(nm, *it->second->constant());
        continue;
      }
      outer.emplace_back(nm, it->second->type());
      outer_values.push_back(it->second);
    }
    // types for body inputs that declare none: from the operands they receive
    std::vector<ValueType> fallback;
    auto operand_type = [&](size_t i) { return i < inputs.size() && inputs[i] ? inputs[i]->type() : ValueType{}; };
    if (op == "Loop") {
      fallback.push_back({DType::i64, Shape(std::vector<Dim>{}), {}});
      fallback.push_back({DType::boolean, Shape(std::vector<Dim>{}), {}});
      for (size_t i = 2; i < inputs.size(); ++i) fallback.push_back(operand_type(i));
    } else if (op == "Scan") {
      const int64_t m = attrs.get_int("num_scan_inputs");
      if (m < 1 || m > int64_t(inputs.size()))
        fail<FormatError>("attribute 'num_scan_inputs' is ", m, " but the node has ", inputs.size(), " operands");
      for (size_t i = 0; i < inputs.size(); ++i) {
        ValueType t = operand_type(i);
        if (int64_t(i) >= int64_t(inputs.size()) - m) t.shape = Shape::unknown_rank();  // one slice
        fallback.push_back(t);
      }
    }
    for (auto* at : graphs) {
      with_context("subgraph '" + at->name() + "'", [&] {
        Importer sub{name, base_dir, {}, {}, opset, depth + 1};
        sub.g.name = at->g().name();
        sub.g.opset = opset;
        sub.build_graph(at->g(), fallback, outer, outer_constants);
        attrs.set(at->name(), std::make_shared<Graph>(std::move(sub.g)));
        return 0;
      });
    }
    attrs.set("outer_inputs", int64_t(outer_values.size()));
    if (op == "Loop" && inputs.size() < 2) inputs.resize(2, nullptr);
    for (Value* v : outer_values) inputs.push_back(v);
    OpKind kind = op == "If" ? OpKind::If : op == "Loop" ? OpKind::Loop : OpKind::Scan;
    std::vector<std::string> out_names;
    for (int i = 0; i < n.output_size(); ++i)
      out_names.push_back(n.output(i).empty() || g.find_value(n.output(i))
                              ? g.unique_name(node_name + ":" + std::to_string(i))
                              : n.output(i));
    Node* node = g.add_node(kind, {.name = g.unique_name(node_name),
                                   .inputs = std::move(inputs),
                                   .attrs = std::move(attrs),
                                   .num_outputs = size_t(n.output_size()),
                                   .output_names = out_names});
    for (int i = 0; i < n.output_size(); ++i) {
      if (n.output(i).empty()) continue;
      if (env.count(n.output(i))) fail<FormatError>("output '", n.output(i), "' is defined twice");
      env[n.output(i)] = node->output(size_t(i));
    }
  }

  void build_constant(const ::onnx::NodeProto& n, const std::string& node_name) {
    Attributes a = convert_attributes(n, base_dir);
    Tensor t;
    if (a.has("value")) t = a.get_tensor("value");
    else if (a.has("value_float")) t = Tensor::scalar<float>(a.get_float("value_float"));
    else if (a.has("value_int")) t = Tensor::scalar<int64_t>(a.get_int("value_int"));
    else if (a.has("value_floats")) {
      auto v = a.get_floats("value_floats");
      t = Tensor::from_vector<float>({int64_t(v.size())}, v);
    } else if (a.has("value_ints")) {
      auto v = a.get_ints("value_ints");
      t = Tensor::from_vector<int64_t>({int64_t(v.size())}, v);
    } else
      fail<UnsupportedError>("Constant without a supported value attribute (value, value_float(s), value_int(s))");
    if (n.output_size() != 1) fail<FormatError>("Constant must have one output");
    if (env.count(n.output(0))) fail<FormatError>("output '", n.output(0), "' is defined twice");
    env[n.output(0)] = g.add_constant(g.find_value(n.output(0)) ? g.unique_name(n.output(0)) : n.output(0), t);
  }
};

void register_all_once() {
  static bool done = [] {
    register_elementwise_builders();
    register_activation_builders();
    register_layer_builders();
    register_shape_builders();
    register_reduce_builders();
    register_pool_norm_builders();
    register_quantized_builders();
    register_microsoft_builders();
    return true;
  }();
  (void)done;
}

}  // namespace

Graph import_model_bytes(const std::string& bytes, const std::string& name, const std::string& base_dir) {
  register_all_once();
  return with_context(name, [&] {
    ::onnx::ModelProto m;
    google::protobuf::io::ArrayInputStream raw(bytes.data(), int(bytes.size()));
    google::protobuf::io::CodedInputStream coded(&raw);
    coded.SetTotalBytesLimit(INT32_MAX);
    if (bytes.empty()) fail<FormatError>("the file is empty");
    if (!m.ParseFromCodedStream(&coded) || !coded.ConsumedEntireMessage())
      fail<FormatError>("not a valid ONNX model (protobuf parse failed: truncated or not an ONNX file)");
    if (!m.has_graph() || m.ir_version() <= 0)
      fail<FormatError>("not a valid ONNX model (no graph or no ir_version)");
    Importer imp{name, base_dir, {}, {}, 0, 0};
    imp.run(m);
    return std::move(imp.g);
  });
}

namespace {
// The whole file; only regular files (a FIFO or a device would block or never end).
std::string read_regular_file(const std::string& path) {
  std::error_code ec;
  auto st = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(st)) fail<IoError>("cannot open the file");
  if (!std::filesystem::is_regular_file(st)) fail<IoError>("not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail<IoError>("cannot open the file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

Graph import_model(const std::string& path) {
  return reading_file(path, [&] {
    std::string bytes = read_regular_file(path);
    std::string dir = std::filesystem::path(path).parent_path().string();
    return import_model_bytes(bytes, path, dir.empty() ? "." : dir);
  });
}

Tensor read_tensor_file(const std::string& path) {
  return reading_file(path, [&] {
    ::onnx::TensorProto t;
    if (!t.ParseFromString(read_regular_file(path))) fail<FormatError>("not a valid ONNX TensorProto");
    std::string dir = std::filesystem::path(path).parent_path().string();
    return tensor_from_proto(t, dir.empty() ? "." : dir);
  });
}

std::vector<std::string> supported_ops() {
  register_all_once();
  std::vector<std::string> ops = registered_ops();
  ops.push_back("Constant");
  for (const char* op : {"If", "Loop", "Scan"}) ops.push_back(op);
  std::sort(ops.begin(), ops.end());
  return ops;
}

}  // namespace mq::onnx
