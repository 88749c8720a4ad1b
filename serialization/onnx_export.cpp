// QDQ ONNX export: a Graph as a standard ONNX ModelProto.
#include <onnx/onnx_pb.h>

#include <map>
#include <set>

#include "serialization/io.h"
#include "serialization/onnx_tensor.h"
#include "serialization/onnx_util.h"
#include "serialization/serialization.h"

namespace mq::serialization {

namespace {

// The lowest opset in which the IR form of an op (ONNX semantics of the newest opset,
// optional operands as inputs) is valid ONNX.
int64_t min_opset_for(OpKind op) {
  switch (op) {
    case OpKind::LayerNormalization: return 17;
    case OpKind::ReduceMean:
    case OpKind::ReduceMax:
    case OpKind::ReduceMin:
    case OpKind::ReduceProd:
    case OpKind::ReduceL2: return 18;  // axes as an input
    case OpKind::Gelu: return 20;
    default: return 13;
  }
}

bool is_monoquant_layer(OpKind op) {
  switch (op) {
    case OpKind::QLinear:
    case OpKind::QConv2d:
    case OpKind::QLSTM:
    case OpKind::DynamicQLinear:
    case OpKind::DynamicQLSTM: return true;
    default: return false;
  }
}

class Exporter {
 public:
  Exporter(const Graph& g, const OnnxExportOptions& o) : g_(g), opts_(o) {}

  onnx::ModelProto run() {
    onnx::ModelProto m;
    m.set_ir_version(8);
    m.set_producer_name("monoquant");
    m.set_producer_version("0.1");
    onnx::GraphProto* gp = m.mutable_graph();
    graph_ = gp;
    gp->set_name(g_.name.empty() ? "monoquant" : g_.name);
    int64_t opset = opts_.min_opset;
    std::string unsupported;
    for (Node* n : g_.nodes()) {
      opset = std::max(opset, min_opset_for(n->op()));
      if (is_monoquant_layer(n->op()))
        unsupported += (unsupported.empty() ? "" : ", ") + n->describe();
    }
    if (!unsupported.empty())
      fail<UnsupportedError>("ONNX export: no ONNX form for ", unsupported,
                             " (dequantize or export before quantization)");
    for (Value* v : g_.inputs()) {
      value_info(v, v->name(), gp->add_input());
      qdq_if_quantized(v);
    }
    for (Value* v : g_.values())
      if (v->is_constant()) constant(v);
    for (Node* n : g_.nodes()) {
      with_context(n->describe(), [&] { node(n); });
      for (Value* o : n->outputs()) qdq_if_quantized(o);
    }
    for (Value* v : g_.outputs()) {
      // Graph outputs keep their names: they are the producers' outputs, before any QDQ.
      value_info(v, v->name(), gp->add_output());
    }
    auto* op = m.add_opset_import();
    op->set_domain("");
    op->set_version(opset);
    for (auto& [k, v] : g_.metadata) {
      auto* p = m.add_metadata_props();
      p->set_key(k);
      p->set_value(v);
    }
    return m;
  }

 private:
  // The name consumers use for a value (after its QDQ pair, if any).
  std::string use(const Value* v) const {
    if (!v) return "";
    auto it = renamed_.find(v);
    return it == renamed_.end() ? v->name() : it->second;
  }
  std::string fresh(const std::string& base) {
    std::string n = base;
    for (int i = 1; g_.find_value(n) || g_.find_node(n) || taken_.count(n); ++i) n = base + "_" + std::to_string(i);
    taken_.insert(n);
    return n;
  }
  void initializer(const Tensor& t, const std::string& name) {
    Tensor plain = t;
    plain.set_quant(std::nullopt);
    detail::tensor_to_proto(plain, name, graph_->add_initializer());
  }
  onnx::NodeProto* add(const std::string& op, const std::string& name, std::vector<std::string> ins,
                       std::vector<std::string> outs) {
    while (!ins.empty() && ins.back().empty()) ins.pop_back();
    auto* n = graph_->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (auto& i : ins) n->add_input(i);
    for (auto& o : outs) n->add_output(o);
    return n;
  }
  static void attr_int(onnx::NodeProto* n, const std::string& k, int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(k);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void attr_ints(onnx::NodeProto* n, const std::string& k, const std::vector<int64_t>& v) {
    auto* a = n->add_attribute();
    a->set_name(k);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }
  // Scale and zero point initializers for `q`; returns their names.
  std::pair<std::string, std::string> qparams(const QuantParams& q, const std::string& base) {
    std::string s = fresh(base + "_scale"), z = fresh(base + "_zero_point");
    std::vector<int64_t> dims;
    if (q.axis) dims = {int64_t(q.scales.size())};
    else if (q.scales.size() != 1) fail<InvalidArgument>("'", base, "': per-tensor quant params with ", q.scales.size(), " scales");
    initializer(Tensor::from_vector<float>(dims, q.scales), s);
    Tensor zt(q.qtype, dims);
    for (size_t i = 0; i < q.zero_points.size(); ++i) {
      int32_t v = q.zero_points[i];
      switch (q.qtype) {
        case DType::i8: zt.data<int8_t>()[i] = int8_t(v); break;
        case DType::u8: zt.data<uint8_t>()[i] = uint8_t(v); break;
        case DType::i32: zt.data<int32_t>()[i] = v; break;
        default: fail<UnsupportedError>("'", base, "': ONNX QDQ needs int8, uint8 or int32 quantization, not ",
                                        dtype_name(q.qtype));
      }
    }
    initializer(zt, z);
    return {s, z};
  }
  void constant(const Value* v) {
    const Tensor& t = *v->constant();
    if (!t.quant() || is_float(t.dtype())) return initializer(t, v->name());
    // int8 data + DequantizeLinear producing the constant's name.
    std::string qn = fresh(v->name() + "_quantized");
    Tensor data = t;
    data.set_quant(QuantParams{t.quant()->scales, t.quant()->zero_points, t.quant()->axis, t.dtype()});
    initializer(t, qn);
    auto [s, z] = qparams(*data.quant(), v->name());
    auto* n = add("DequantizeLinear", fresh(v->name() + "_DequantizeLinear"), {qn, s, z}, {v->name()});
    if (t.quant()->axis) attr_int(n, "axis", *t.quant()->axis);
  }
  void qdq_if_quantized(const Value* v) {
    if (!v->type().quant || !is_float(v->dtype())) return;
    const QuantParams& q = *v->type().quant;
    auto [s, z] = qparams(q, v->name());
    std::string qn = fresh(v->name() + "_quantized"), dq = fresh(v->name() + "_dequantized");
    auto* qnode = add("QuantizeLinear", fresh(v->name() + "_QuantizeLinear"), {v->name(), s, z}, {qn});
    auto* dnode = add("DequantizeLinear", fresh(v->name() + "_DequantizeLinear"), {qn, s, z}, {dq});
    if (q.axis) {
      attr_int(qnode, "axis", *q.axis);
      attr_int(dnode, "axis", *q.axis);
    }
    renamed_[v] = dq;
  }
  void copy_attrs(const Node* n, onnx::NodeProto* p) {
    for (auto& kv : n->attrs().all()) {
      const std::string& k = kv.first;  // (not a structured binding: captured below)
      const AttrValue& a = kv.second;
      auto* pa = p->add_attribute();
      pa->set_name(k);
      std::visit(
          [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, int64_t>) {
              pa->set_type(onnx::AttributeProto::INT);
              pa->set_i(n->op() == OpKind::Cast && k == "to" ? onnx_dtype_code(DType(x)) : x);
            } else if constexpr (std::is_same_v<T, float>) {
              pa->set_type(onnx::AttributeProto::FLOAT);
              pa->set_f(x);
            } else if constexpr (std::is_same_v<T, std::string>) {
              pa->set_type(onnx::AttributeProto::STRING);
              pa->set_s(x);
            } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
              pa->set_type(onnx::AttributeProto::INTS);
              for (auto v : x) pa->add_ints(v);
            } else if constexpr (std::is_same_v<T, std::vector<float>>) {
              pa->set_type(onnx::AttributeProto::FLOATS);
              for (auto v : x) pa->add_floats(v);
            } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
              pa->set_type(onnx::AttributeProto::STRINGS);
              for (auto& v : x) pa->add_strings(v);
            } else {
              pa->set_type(onnx::AttributeProto::TENSOR);
              detail::tensor_to_proto(x, "", pa->mutable_t());
            }
          },
          a);
    }
  }
  void node(const Node* n) {
    std::vector<std::string> ins, outs;
    for (Value* v : n->inputs()) ins.push_back(use(v));
    for (Value* v : n->outputs()) outs.push_back(v->name());
    if (n->op() == OpKind::Linear) return linear(n, ins, outs);
    std::string op = n->op() == OpKind::Conv2d ? "Conv" : std::string(n->op_name());
    copy_attrs(n, add(op, n->name(), ins, outs));
  }
  void linear(const Node* n, std::vector<std::string> ins, const std::vector<std::string>& outs) {
    if (!n->attrs().all().empty())
      fail<UnsupportedError>("Linear attributes are not expressible in ONNX");
    const Shape& xs = n->input(0)->shape();
    if (opts_.linear_as_gemm && xs.has_rank() && xs.rank() == 2) {
      auto* g = add("Gemm", n->name(), ins, outs);
      attr_int(g, "transB", 1);
      return;
    }
    std::string wt = fresh(n->name() + "_weight_t");
    attr_ints(add("Transpose", fresh(n->name() + "_Transpose"), {ins[1]}, {wt}), "perm", {1, 0});
    bool bias = ins.size() > 2 && !ins[2].empty();
    std::string mm = bias ? fresh(n->name() + "_matmul") : outs[0];
    add("MatMul", n->name(), {ins[0], wt}, {mm});
    if (bias) add("Add", fresh(n->name() + "_bias"), {mm, ins[2]}, outs);
  }
  void value_info(const Value* v, const std::string& name, onnx::ValueInfoProto* vi) {
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx_dtype_code(v->dtype()));
    if (!v->shape().has_rank()) return;
    auto* sh = tt->mutable_shape();
    for (const Dim& d : v->shape().dims()) {
      auto* dim = sh->add_dim();
      if (d.is_static()) dim->set_dim_value(d.value);
      else if (!d.symbol.empty()) dim->set_dim_param(d.symbol);
    }
  }

  const Graph& g_;
  OnnxExportOptions opts_;
  onnx::GraphProto* graph_ = nullptr;
  std::map<const Value*, std::string> renamed_;
  std::set<std::string> taken_;
};

}  // namespace

void export_onnx(const Graph& g, const std::string& path, const OnnxExportOptions& opts) {
  onnx::ModelProto m = with_context(path, [&] { return Exporter(g, opts).run(); });
  std::string bytes;
  if (!m.SerializeToString(&bytes)) fail<IoError>(path, ": cannot serialize the ONNX model (over 2 GiB?)");
  write_file_atomic(path, std::as_bytes(std::span<const char>(bytes.data(), bytes.size())));
}

}  // namespace mq::serialization
