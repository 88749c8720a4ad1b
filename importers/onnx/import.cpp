// Reads an ONNX ModelProto and builds the IR graph node by node through the builder registry.
#include "importers/onnx/import.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <unordered_map>

#include "importers/onnx/builder.h"
#include "importers/onnx/tensor_proto.h"

namespace mq::onnx {

namespace {

constexpr int64_t kMinOpset = 6;
constexpr int64_t kMaxOpset = 21;

Attributes convert_attributes(const ::onnx::NodeProto& n, const std::string& base_dir) {
  Attributes a;
  for (const auto& at : n.attribute()) {
    with_context("attribute '" + at.name() + "'", [&] {
      using AP = ::onnx::AttributeProto;
      switch (at.type()) {
        case AP::INT: a.set(at.name(), int64_t(at.i())); break;
        case AP::FLOAT: a.set(at.name(), at.f()); break;
        case AP::STRING: a.set(at.name(), at.s()); break;
        case AP::INTS: a.set(at.name(), std::vector<int64_t>(at.ints().begin(), at.ints().end())); break;
        case AP::FLOATS: a.set(at.name(), std::vector<float>(at.floats().begin(), at.floats().end())); break;
        case AP::STRINGS: a.set(at.name(), std::vector<std::string>(at.strings().begin(), at.strings().end())); break;
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
        default:
          fail<UnsupportedError>("type ", int(at.type()), " (graphs, sparse tensors) is not supported");
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

  void run(const ::onnx::ModelProto& m) {
    int64_t opset = 0;
    for (const auto& o : m.opset_import())
      if (o.domain().empty() || o.domain() == "ai.onnx") opset = o.version();
    if (m.opset_import_size() == 0) opset = 1;
    if (opset < kMinOpset || opset > kMaxOpset)
      fail<UnsupportedError>("default-domain opset ", opset, " is not supported (supported: ", kMinOpset,
                             " to ", kMaxOpset, ")");
    if (!m.has_graph()) fail<FormatError>("the model has no graph");
    const auto& gp = m.graph();
    g.name = gp.name();
    g.opset = opset;
    g.metadata["producer_name"] = m.producer_name();
    for (const auto& kv : m.metadata_props()) g.metadata[kv.key()] = kv.value();

    check_supported(gp);
    for (const auto& init : gp.initializer()) {
      if (env.count(init.name())) fail<FormatError>("initializer '", init.name(), "' is defined twice");
      env[init.name()] = g.add_constant(init.name(), tensor_from_proto(init, base_dir));
    }
    for (const auto& in : gp.input()) {
      if (env.count(in.name())) continue;  // an initializer also listed as input (IR < 4)
      env[in.name()] = g.add_input(in.name(), type_from_value_info(in));
    }
    int index = 0;
    for (const auto& n : gp.node()) build(n, opset, index++);
    for (const auto& out : gp.output()) {
      auto it = env.find(out.name());
      if (it == env.end()) fail<FormatError>("graph output '", out.name(), "' is never produced");
      Value* v = it->second;
      if (!v->producer() || g.is_output(v)) {
        // an output that is an input, a constant or listed twice: give it its own node
        v = g.add_node(OpKind::Identity, {.name = out.name() + "_identity", .inputs = {v},
                                          .output_names = {out.name() + "_out"}})->output(0);
      }
      g.add_output(v);
    }
  }

  void check_supported(const ::onnx::GraphProto& gp) {
    std::map<std::string, std::vector<std::string>> missing;
    int index = 0;
    for (const auto& n : gp.node()) {
      const bool default_domain = n.domain().empty() || n.domain() == "ai.onnx";
      const bool known = default_domain && (n.op_type() == "Constant" || find_builder(n.op_type()));  // Constant: build_constant
      if (!known) {
        std::string key = n.op_type().empty() ? "(no op_type)" : printable(n.op_type());
        if (!default_domain) key = printable(n.domain()) + "::" + key;
        missing[key].push_back(n.name().empty() ? "#" + std::to_string(index) : printable(n.name()));
      }
      ++index;
    }
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
      BuildContext c(g, n, opset, g.unique_name(node_name), std::move(inputs),
                     convert_attributes(n, base_dir));
      const Builder builder = find_builder(n.op_type());
      if (!builder) fail<UnsupportedError>("op '", printable(n.op_type()), "' is not supported");
      builder(c);
      for (int i = 0; i < n.output_size(); ++i) {
        if (n.output(i).empty()) continue;
        if (size_t(i) >= c.outputs.size() || !c.outputs[i]) {
          fail<UnsupportedError>("output ", i, " '", n.output(i), "' is not produced by monoquant's version of this op");
        }
        if (env.count(n.output(i))) fail<FormatError>("output '", n.output(i), "' is defined twice");
        env[n.output(i)] = c.outputs[i];
      }
      return 0;
    });
  }

  void build_constant(const ::onnx::NodeProto& n, const std::string& node_name) {
    Attributes a = convert_attributes(n, base_dir);
    Tensor t;
    if (a.has("value")) t = a.get_tensor("value");
    else if (a.has("value_float")) t = Tensor::scalar<float>(a.get_float("value_float"));
    else if (a.has("value_int")) t = Tensor::scalar<int64_t>(a.get_int("value_int"));
    else if (a.has("value_floats")) { auto v = a.get_floats("value_floats"); t = Tensor::from_vector<float>({int64_t(v.size())}, v); }
    else if (a.has("value_ints")) { auto v = a.get_ints("value_ints"); t = Tensor::from_vector<int64_t>({int64_t(v.size())}, v); }
    else fail<UnsupportedError>("Constant without a supported value attribute (value, value_float(s), value_int(s))");
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
    Importer imp{name, base_dir, {}, {}};
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
  std::sort(ops.begin(), ops.end());
  return ops;
}

}  // namespace mq::onnx
