// QDQ ONNX export: a Graph as a standard ONNX ModelProto.
//
// monoquant's quantized layers have no ONNX op of their own; they are written in the QDQ
// form that ONNX Runtime's quantizer emits and its graph optimizer fuses into int8 kernels:
//   QLinear(xq, W, B, ys, yz)  → DequantizeLinear(xq) → Gemm(transB=1) with the
//       DequantizeLinear'd int8 weight (per channel, axis 0) and int32 bias (scale
//       x_scale·w_scale), for rank-2 inputs; otherwise MatMul with a transposed int8 weight
//       [in, out] (DequantizeLinear axis 1) + Add → Relu / Clip (the fused activation) →
//       QuantizeLinear(ys, yz), whose output is the layer's u8 output.
//   QConv2d                    → the same around Conv (Conv2d's attributes, kernel_shape
//       from the weight).
//   DynamicQLinear(x, W, B)    → DynamicQuantizeLinear(x) → MatMulInteger with the
//       transposed weight → Cast → Mul(x_scale · w_scale) → Add(float bias): what ONNX
//       Runtime's dynamic quantizer writes (it fuses it into DynamicQuantizeMatMul); x is
//       quantized per call to u8 from its own range, as monoquant does.
//   QLinearMatMul (the matmul pattern's product of two int8 activations, or an imported one)
//                              → DequantizeLinear(a), DequantizeLinear(b) → MatMul →
//       QuantizeLinear(y_scale, y_zero_point); ONNX Runtime fuses it back into QLinearMatMul.
//       The pattern's other forms are standard ops written as they are (MatMulInteger →
//       DequantizeLinear of the int32 product; DynamicQuantizeLinear for dynamic).
//   QLSTM / DynamicQLSTM       → LSTM with the weights DequantizeLinear'd per row and
//       reshaped to [D, 4H, in]; QLSTM's input first goes through QuantizeLinear →
//       DequantizeLinear with its static x range. ONNX has no int8 LSTM: the hidden state is
//       not quantized between steps (nor x per call for DynamicQLSTM), so outputs differ
//       from monoquant's int8 LSTM by that activation quantization only.
// The int8 weights are written as uint8 with zero point 128 unless
// OnnxExportOptions::int8_weights_as_uint8 is false (see there: ONNX Runtime's u8×s8 kernels
// saturate on AVX2 CPUs without VNNI; its u8×u8 ones reproduce monoquant's outputs exactly).
// int8 values flowing through Reshape / Flatten / MaxPool / Transpose / Squeeze / Unsqueeze
// / Identity keep their op (all valid on uint8 / int8 in ONNX at opset 13); AveragePool,
// GlobalAveragePool, GlobalMaxPool and linear Resize of int8 values run between
// DequantizeLinear and QuantizeLinear at the input's parameters.
#include <onnx/onnx_pb.h>

#include <map>
#include <tuple>
#include <set>

#include "ir/control_flow.h"
#include "ir/infer.h"
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

bool is_lstm(OpKind op) { return op == OpKind::LSTM || op == OpKind::QLSTM || op == OpKind::DynamicQLSTM; }

// Attributes of monoquant's layers that are not the float op's.
bool is_layer_only_attr(const std::string& k) {
  return k == "activation" || k == "clip_min" || k == "clip_max" || k == "x_scale" || k == "x_zero_point" ||
         k == "h_scale" || k == "h_zero_point";
}

// Renames the values of the subgraphs of `g` (not the outer values they take as inputs)
// whose names an enclosing graph or an earlier subgraph uses: ONNX names are unique across
// a model's nested graphs. `seen` holds the names used so far.
void unique_subgraph_names(Graph& g, std::set<std::string>& seen) {
  for (Value* v : g.values()) seen.insert(v->name());
  for (Node* n : g.nodes())
    for (auto& [attr, sub] : subgraphs(*n)) {
      const size_t own = sub->inputs().size() - outer_operand_count(*n);
      std::set<const Value*> outer(sub->inputs().begin() + std::ptrdiff_t(own), sub->inputs().end());
      for (Value* v : sub->values()) {
        if (outer.count(v)) continue;
        if (seen.count(v->name())) {
          std::string base = n->name() + "_" + attr + "_" + v->name(), name = base;
          for (int i = 1; seen.count(name) || sub->find_value(name); ++i) name = base + "_" + std::to_string(i);
          sub->rename_value(v, name);
        }
        seen.insert(v->name());
      }
      unique_subgraph_names(*sub, seen);
    }
}

// The lowest opset that expresses every op of `g` and of its subgraphs.
int64_t opset_for(const Graph& g, int64_t opset) {
  for (Node* n : g.nodes()) {
    opset = std::max(opset, min_opset_for(n->op()));
    if (is_lstm(n->op()) && n->attrs().get_int_or("layout", 0) != 0) opset = std::max<int64_t>(opset, 14);
    for (auto& [attr, sub] : subgraphs(*n)) opset = opset_for(*sub, opset);
  }
  return opset;
}

class Exporter {
 public:
  Exporter(const Graph& g, const OnnxExportOptions& o) : g_(g), opts_(o), taken_(own_taken_) {}
  // A subgraph's exporter: writes into `gp`; its outer inputs are the names `outer` of the
  // enclosing graph; fresh names avoid every name in `taken`.
  Exporter(const Graph& g, const OnnxExportOptions& o, onnx::GraphProto* gp, std::set<std::string>& taken,
           const std::vector<std::string>& outer)
      : g_(g), opts_(o), graph_(gp), taken_(taken) {
    const size_t own = g.inputs().size() - outer.size();
    for (size_t i = 0; i < outer.size(); ++i) renamed_[g.inputs()[own + i]] = outer[i];
    gp->set_name(g.name.empty() ? "subgraph" : g.name);
    for (size_t i = 0; i < own; ++i) {
      value_info(g.inputs()[i], g.inputs()[i]->name(), gp->add_input());
      qdq_if_quantized(g.inputs()[i]);
    }
    body();
  }

  onnx::ModelProto run() {
    onnx::ModelProto m;
    m.set_ir_version(8);
    m.set_producer_name("monoquant");
    m.set_producer_version("0.1");
    onnx::GraphProto* gp = m.mutable_graph();
    graph_ = gp;
    gp->set_name(g_.name.empty() ? "monoquant" : g_.name);
    const int64_t opset = opset_for(g_, opts_.min_opset);
    for (Value* v : g_.inputs()) {
      value_info(v, v->name(), gp->add_input());
      qdq_if_quantized(v);
    }
    for_each_graph(const_cast<Graph&>(g_), [&](Graph& x) {
      for (Value* v : x.values()) taken_.insert(v->name());
    });
    body();
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
  // Constants, nodes and outputs of g_ into graph_ (inputs are written by the caller).
  void body() {
    for (Value* v : g_.values())
      if (v->is_constant()) constant(v);
    for (Node* n : g_.nodes()) {
      with_context(n->describe(), [&] { node(n); });
      for (Value* o : n->outputs()) qdq_if_quantized(o);
    }
    for (Value* v : g_.outputs()) {
      // Graph outputs keep their names: they are the producers' outputs, before any QDQ.
      value_info(v, v->name(), graph_->add_output());
    }
    prune();
  }
  // If / Loop / Scan: the op's own operands, its attributes without outer_inputs, and each
  // subgraph exported with its outer inputs read by name from this graph.
  void control_flow(const Node* n, const std::vector<std::string>& ins, const std::vector<std::string>& outs) {
    const size_t formal = formal_operand_count(*n);
    std::vector<std::string> outer(ins.begin() + std::ptrdiff_t(formal), ins.end());
    auto* p = add(std::string(n->op_name()), n->name(), {ins.begin(), ins.begin() + std::ptrdiff_t(formal)}, outs);
    Attributes plain;
    for (auto& [k, a] : n->attrs().all())
      if (k != "outer_inputs" && !std::holds_alternative<GraphRef>(a)) plain.set(k, a);
    copy_attrs(n->op(), plain, p);
    for (auto& [attr, sub] : subgraphs(*n)) {
      auto* pa = p->add_attribute();
      pa->set_name(attr);
      pa->set_type(onnx::AttributeProto::GRAPH);
      with_context("subgraph '" + attr + "'", [&, sub = sub] {
        Exporter(*sub, opts_, pa->mutable_g(), taken_, outer);
        return 0;
      });
    }
  }
  // The name consumers use for a value (after its QDQ pair, if any).
  std::string use(const Value* v) const {
    if (!v) return "";
    auto it = renamed_.find(v);
    return it == renamed_.end() ? v->name() : it->second;
  }
  std::string fresh(const std::string& base) {
    std::string n = base;
    for (int i = 1; g_.find_value(n) || g_.find_node(n) || taken_.count(n); ++i)
      n = base + "_" + std::to_string(i);
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
    else if (q.scales.size() != 1)
      fail<InvalidArgument>("'", base, "': per-tensor quant params with ", q.scales.size(), " scales");
    initializer(Tensor::from_vector<float>(dims, q.scales), s);
    Tensor zt(q.qtype, dims);
    for (size_t i = 0; i < q.zero_points.size(); ++i) {
      int32_t v = q.zero_points[i];
      switch (q.qtype) {
        case DType::i8: zt.data<int8_t>()[i] = int8_t(v); break;
        case DType::u8: zt.data<uint8_t>()[i] = uint8_t(v); break;
        case DType::i32: zt.data<int32_t>()[i] = v; break;
        default:
          fail<UnsupportedError>("'", base, "': ONNX QDQ needs int8, uint8 or int32 quantization, not ",
                                 dtype_name(q.qtype));
      }
    }
    initializer(zt, z);
    return {s, z};
  }
  // Constants keep their own type (an int8 weight is an int8 initializer: what
  // DequantizeLinear and ONNX's integer ops read); layers that need a quantized constant in
  // float ask for dequantized_const.
  void constant(const Value* v) { initializer(*v->constant(), v->name()); }
  // A quantized integer constant through DequantizeLinear (its QuantParams), made once.
  // An int8 layer weight goes out as uint8 with zero points + 128 when the options say so.
  std::string dequantized_const(const Value* v) {
    const Tensor& t = *v->constant();
    if (!t.quant() || is_float(t.dtype())) return use(v);
    if (auto it = dequantized_.find(v); it != dequantized_.end()) return it->second;
    std::string data = v->name();
    QuantParams q = *t.quant();
    q.qtype = t.dtype();
    if (t.dtype() == DType::i8 && opts_.int8_weights_as_uint8) {
      data = fresh(v->name() + "_uint8");
      initializer(as_uint8(t, q), data);
    }
    auto [s, z] = qparams(q, v->name());
    std::string out = fresh(v->name() + "_dequantized");
    auto* n = add("DequantizeLinear", fresh(v->name() + "_DequantizeLinear"), {data, s, z}, {out});
    if (q.axis) attr_int(n, "axis", *q.axis);
    return dequantized_[v] = out;
  }
  // int8 data → uint8 data + 128; `q` (qtype i8) becomes its uint8 equivalent (zero points
  // + 128): the same real values.
  static Tensor as_uint8(const Tensor& t, QuantParams& q) {
    Tensor u(DType::u8, t.dims());
    const int8_t* src = t.data<int8_t>();
    uint8_t* dst = u.data<uint8_t>();
    for (int64_t i = 0; i < t.numel(); ++i) dst[i] = uint8_t(int32_t(src[i]) + 128);
    for (int32_t& z : q.zero_points) z += 128;
    q.qtype = DType::u8;
    return u;
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
  void copy_attrs(const Node* n, onnx::NodeProto* p) { copy_attrs(n->op(), n->attrs(), p); }
  // `op`'s attributes; a monoquant layer's own attributes (activation, static ranges) are
  // left out when `layer_attrs` is false.
  void copy_attrs(OpKind op, const Attributes& attrs, onnx::NodeProto* p, bool layer_attrs = true) {
    for (auto& kv : attrs.all()) {
      const std::string& k = kv.first;  // (not a structured binding: captured below)
      const AttrValue& a = kv.second;
      if ((!layer_attrs && is_layer_only_attr(k)) ||
          (is_lstm(op) && k == "layout" && std::get_if<int64_t>(&a) && !std::get<int64_t>(a)))
        continue;
      auto* pa = p->add_attribute();
      pa->set_name(k);
      std::visit(
          [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, int64_t>) {
              pa->set_type(onnx::AttributeProto::INT);
              pa->set_i(op == OpKind::Cast && k == "to" ? onnx_dtype_code(DType(x)) : x);
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
            } else if constexpr (std::is_same_v<T, Tensor>) {
              pa->set_type(onnx::AttributeProto::TENSOR);
              detail::tensor_to_proto(x, "", pa->mutable_t());
            } else {
              fail<UnsupportedError>("attribute '", k, "': subgraphs are not exported to ONNX");
            }
          },
          a);
    }
  }
  void node(const Node* n) {
    std::vector<std::string> ins, outs;
    for (Value* v : n->inputs()) ins.push_back(use(v));
    for (Value* v : n->outputs()) outs.push_back(v->name());
    switch (n->op()) {
      case OpKind::Linear: return linear(n, ins, outs);
      case OpKind::QLinear:
      case OpKind::QConv2d: return qlayer(n, ins, outs);
      case OpKind::DynamicQLinear: return dynamic_qlinear(n, ins, outs);
      case OpKind::QLinearMatMul: return qlinear_matmul(n, ins, outs);
      case OpKind::QLSTM:
      case OpKind::DynamicQLSTM: return qlstm(n, ins, outs);
      case OpKind::If:
      case OpKind::Loop:
      case OpKind::Scan: return control_flow(n, ins, outs);
      default: break;
    }
    // (ONNX defines GlobalMaxPool on floats only)
    if ((averages_values(*n) || n->op() == OpKind::GlobalMaxPool) && n->input(0)->type().quant &&
        !is_float(n->input(0)->dtype()))
      return int8_average(n, ins, outs);
    std::string op = n->op() == OpKind::Conv2d ? "Conv" : std::string(n->op_name());
    copy_attrs(n, add(op, n->name(), ins, outs));
  }
  // An average of int8 values (AveragePool, GlobalAveragePool, Resize linear; ONNX defines
  // them on floats): DequantizeLinear → the op → QuantizeLinear at the same parameters.
  void int8_average(const Node* n, std::vector<std::string> ins, const std::vector<std::string>& outs) {
    QuantParams q = *n->input(0)->type().quant;
    q.qtype = n->input(0)->dtype();
    auto [s, z] = qparams(q, n->input(0)->name());
    const std::string x = fresh(n->input(0)->name() + "_dequantized"), y = fresh(outs[0] + "_float");
    add("DequantizeLinear", fresh(n->name() + "_DequantizeLinear"), {ins[0], s, z}, {x});
    ins[0] = x;
    copy_attrs(n, add(std::string(n->op_name()), n->name(), ins, {y}));
    add("QuantizeLinear", fresh(n->name() + "_QuantizeLinear"), {y, s, z}, outs);
  }
  void linear(const Node* n, std::vector<std::string> ins, const std::vector<std::string>& outs) {
    if (!n->attrs().all().empty()) fail<UnsupportedError>("Linear attributes are not expressible in ONNX");
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
  // ---- monoquant's quantized layers (see the header comment)

  // An int8 weight constant with its quantization parameters (the layer's operand i).
  const Tensor& int8_weight(const Node* n, size_t i, int64_t rank) {
    const Value* w = n->input(i);
    if (!w || !w->is_constant() || w->dtype() != DType::i8 || !w->constant()->quant() ||
        w->constant()->rank() != size_t(rank))
      fail<UnsupportedError>("operand ", i, " must be an int8 constant of rank ", rank,
                             " with quantization parameters");
    return *w->constant();
  }
  static QuantParams as_int8(const QuantParams& q) {
    return QuantParams{q.scales, q.zero_points, q.axis, DType::i8};
  }
  // DequantizeLinear of a u8 / i8 value with the QuantParams of its type; returns the float name.
  std::string dequantize_value(const Value* v) {
    if (!v->type().quant)
      fail<UnsupportedError>("'", v->name(), "' (", dtype_name(v->dtype()), ") has no quantization parameters");
    const QuantParams& q = *v->type().quant;
    auto [s, z] = qparams(QuantParams{q.scales, q.zero_points, q.axis, v->dtype()}, v->name());
    std::string out = fresh(v->name() + "_dequantized");
    auto* d = add("DequantizeLinear", fresh(v->name() + "_DequantizeLinear"), {use(v), s, z}, {out});
    if (q.axis) attr_int(d, "axis", *q.axis);
    return out;
  }
  // x_f · Wᵀ (+ bias) into `out`: Gemm(transB=1) for a rank-2 input, else MatMul with the
  // transposed int8 weight [in, out] (DequantizeLinear along axis 1, the output channels) + Add.
  void product(const Node* n, const std::string& xf, const std::string& bias, const std::string& out) {
    const Value* w = n->input(1);
    int8_weight(n, 1, 2);  // W must be a 2-D int8 constant
    const Shape& xs = n->input(0)->shape();
    if (opts_.linear_as_gemm && xs.has_rank() && xs.rank() == 2) {
      attr_int(add("Gemm", n->name(), {xf, dequantized_const(w), bias}, {out}), "transB", 1);
      return;
    }
    TransposedWeight tw = transposed_weight(w);
    std::string wf = fresh(w->name() + "_t");
    auto* d = add("DequantizeLinear", fresh(w->name() + "_t_DequantizeLinear"), {tw.data, tw.scale, tw.zero_point},
                  {wf});
    if (tw.per_channel) attr_int(d, "axis", 1);
    std::string mm = bias.empty() ? out : fresh(n->name() + "_matmul");
    add("MatMul", n->name(), {xf, wf}, {mm});
    if (!bias.empty()) add("Add", fresh(n->name() + "_bias"), {mm, bias}, {out});
  }
  // An int8 weight [out, in] as [in, out] (uint8 when the options say so) with its scale and
  // zero point initializers (1-D, per output channel, or scalars).
  struct TransposedWeight {
    std::string data, scale, zero_point;
    bool per_channel = false;
  };
  TransposedWeight transposed_weight(const Value* w) {
    const Tensor& t = *w->constant();
    const int64_t rows = t.dim(0), cols = t.dim(1);
    Tensor wt(DType::i8, {cols, rows});
    const int8_t* src = t.data<int8_t>();
    int8_t* dst = wt.data<int8_t>();
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
    TransposedWeight tw;
    tw.data = fresh(w->name() + "_t_quantized");
    QuantParams q = as_int8(*t.quant());
    initializer(opts_.int8_weights_as_uint8 ? as_uint8(wt, q) : wt, tw.data);
    std::tie(tw.scale, tw.zero_point) = qparams(q, w->name() + "_t");
    tw.per_channel = q.axis.has_value();
    return tw;
  }
  // QLinear / QConv2d: DequantizeLinear(x) → Gemm / MatMul+Add / Conv → Relu / Clip →
  // QuantizeLinear(y_scale, y_zero_point).
  void qlayer(const Node* n, const std::vector<std::string>& ins, const std::vector<std::string>& outs) {
    const bool conv = n->op() == OpKind::QConv2d;
    const Tensor& w = int8_weight(n, 1, conv ? 4 : 2);
    if (ins.size() < 4 || ins[3].empty()) fail<UnsupportedError>("no y_scale operand");
    std::string xf = dequantize_value(n->input(0));
    std::string bias = n->input(2) ? dequantized_const(n->input(2)) : "";
    const std::string act = n->attrs().get_string_or("activation", "");
    std::string pre = fresh(n->name() + "_float");
    std::string y = act.empty() ? pre : fresh(n->name() + "_" + act);
    if (conv) {
      auto* c = add("Conv", n->name(), {xf, dequantized_const(n->input(1)), bias}, {pre});
      copy_attrs(OpKind::Conv2d, n->attrs(), c, false);
      if (!n->attrs().has("kernel_shape")) attr_ints(c, "kernel_shape", {w.dim(2), w.dim(3)});
    } else {
      product(n, xf, bias, pre);
    }
    if (act == "relu") {
      add("Relu", fresh(n->name() + "_Relu"), {pre}, {y});
    } else if (act == "clip") {
      std::string bound[2];
      const char* keys[2] = {"clip_min", "clip_max"};
      for (int i = 0; i < 2; ++i)
        if (n->attrs().has(keys[i])) {
          bound[i] = fresh(n->name() + "_" + keys[i]);
          initializer(Tensor::scalar<float>(n->attrs().get_float(keys[i])), bound[i]);
        }
      add("Clip", fresh(n->name() + "_Clip"), {pre, bound[0], bound[1]}, {y});
    } else if (!act.empty()) {
      fail<UnsupportedError>("activation '", act, "'");
    }
    add("QuantizeLinear", fresh(n->name() + "_QuantizeLinear"), {y, ins[3], ins.size() > 4 ? ins[4] : ""},
        {outs[0]});
  }
  // QLinearMatMul: DequantizeLinear(a) and DequantizeLinear(b) with the node's own scales and
  // zero points (1-D scales: per row of a, per column of b) → MatMul → QuantizeLinear(y).
  void qlinear_matmul(const Node* n, const std::vector<std::string>& ins, const std::vector<std::string>& outs) {
    std::string f[2];
    for (size_t k = 0; k < 2; ++k) {
      const size_t i = 3 * k;
      f[k] = fresh(ins[i] + "_dequantized");
      auto* d = add("DequantizeLinear", fresh(n->name() + (k ? "_b" : "_a") + "_DequantizeLinear"),
                    {ins[i], ins[i + 1], ins[i + 2]}, {f[k]});
      const Value* s = n->input(i + 1);
      if (s->shape().has_rank() && s->shape().rank() == 1 && !(s->shape().is_static() && s->shape().numel() == 1))
        attr_int(d, "axis", k ? -1 : -2);
    }
    std::string y = fresh(n->name() + "_float");
    add("MatMul", n->name(), {f[0], f[1]}, {y});
    add("QuantizeLinear", fresh(n->name() + "_QuantizeLinear"), {y, ins[6], ins[7]}, {outs[0]});
  }
  // DynamicQLinear: DynamicQuantizeLinear(x) → MatMulInteger → Cast → Mul(scales) → Add(float
  // bias); an int8 x (a static input) goes into MatMulInteger with its own scale and zero point.
  void dynamic_qlinear(const Node* n, const std::vector<std::string>& ins, const std::vector<std::string>& outs) {
    int8_weight(n, 1, 2);
    const std::string& base = n->name();
    std::string xq = ins[0], xs, xz;
    if (is_float(n->input(0)->dtype())) {
      xq = fresh(base + "_x_quantized"), xs = fresh(base + "_x_scale"), xz = fresh(base + "_x_zero_point");
      add("DynamicQuantizeLinear", fresh(base + "_DynamicQuantizeLinear"), {ins[0]}, {xq, xs, xz});
    } else {
      QuantParams q = *n->input(0)->type().quant;
      q.qtype = n->input(0)->dtype();
      std::tie(xs, xz) = qparams(q, n->input(0)->name());
    }
    TransposedWeight tw = transposed_weight(n->input(1));
    std::string acc = fresh(base + "_int32"), accf = fresh(base + "_int32_float"), sc = fresh(base + "_scale");
    add("MatMulInteger", n->name(), {xq, tw.data, xz, tw.zero_point}, {acc});
    attr_int(add("Cast", fresh(base + "_Cast"), {acc}, {accf}), "to", onnx::TensorProto::FLOAT);
    add("Mul", fresh(base + "_scales"), {xs, tw.scale}, {sc});
    const bool bias = ins.size() > 2 && !ins[2].empty();
    std::string y = bias ? fresh(base + "_product") : outs[0];
    add("Mul", fresh(base + "_Mul"), {accf, sc}, {y});
    if (bias) add("Add", fresh(base + "_bias"), {y, ins[2]}, outs);
  }
  // QLSTM / DynamicQLSTM: LSTM with the per-row DequantizeLinear'd W and R reshaped to
  // [D, 4H, in]; QLSTM's x through QuantizeLinear → DequantizeLinear with its static range.
  void qlstm(const Node* n, std::vector<std::string> ins, const std::vector<std::string>& outs) {
    const int64_t dirs = n->attrs().get_string_or("direction", "forward") == "bidirectional" ? 2 : 1;
    for (size_t i : {size_t(1), size_t(2)}) {
      const Tensor& t = int8_weight(n, i, 2);
      if (t.dim(0) % dirs) fail<ShapeError>("operand ", i, " has ", t.dim(0), " rows for ", dirs, " directions");
      const std::string& wn = n->input(i)->name();
      std::string shape = fresh(wn + "_shape"), w3 = fresh(wn + "_3d");
      initializer(Tensor::from_vector<int64_t>({3}, {dirs, t.dim(0) / dirs, t.dim(1)}), shape);
      add("Reshape", fresh(wn + "_Reshape"), {dequantized_const(n->input(i)), shape}, {w3});
      ins[i] = w3;
    }
    if (n->op() == OpKind::QLSTM && n->attrs().has("x_scale")) {
      QuantParams q{{n->attrs().get_float("x_scale")},
                    {int32_t(n->attrs().get_int_or("x_zero_point", 0))},
                    std::nullopt,
                    DType::u8};
      const std::string base = n->name() + "_x";
      auto [s, z] = qparams(q, base);
      std::string xq = ins[0], xf = fresh(base + "_dequantized");
      if (is_float(n->input(0)->dtype())) {  // else X is u8 at this range already
        xq = fresh(base + "_quantized");
        add("QuantizeLinear", fresh(base + "_QuantizeLinear"), {ins[0], s, z}, {xq});
      }
      add("DequantizeLinear", fresh(base + "_DequantizeLinear"), {xq, s, z}, {xf});
      ins[0] = xf;
    }
    copy_attrs(n->op(), n->attrs(), add("LSTM", n->name(), ins, outs), false);
  }
  static void reads_of(const onnx::GraphProto& g, std::set<std::string>& names) {
    for (const auto& nd : g.node()) {
      for (const auto& in : nd.input()) names.insert(in);
      for (const auto& a : nd.attribute())
        if (a.has_g()) reads_of(a.g(), names);
    }
    for (const auto& o : g.output()) names.insert(o.name());
  }
  // Drops the nodes and initializers nothing reads (e.g. a weight's plain DequantizeLinear
  // when only its transposed form is used). Nodes are in topological order.
  void prune() {
    std::set<std::string> live;
    for (const auto& o : graph_->output()) live.insert(o.name());
    std::vector<bool> keep(size_t(graph_->node_size()), false);
    for (int i = graph_->node_size() - 1; i >= 0; --i) {
      const auto& nd = graph_->node(i);
      for (const auto& o : nd.output()) keep[size_t(i)] = keep[size_t(i)] || live.count(o);
      if (keep[size_t(i)]) {
        for (const auto& in : nd.input()) live.insert(in);
        for (const auto& a : nd.attribute())
          if (a.has_g()) reads_of(a.g(), live);  // names a subgraph reads from this graph
      }
    }
    google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
    for (int i = 0; i < graph_->node_size(); ++i)
      if (keep[size_t(i)]) nodes.Add()->Swap(graph_->mutable_node(i));
    graph_->mutable_node()->Swap(&nodes);
    google::protobuf::RepeatedPtrField<onnx::TensorProto> inits;
    for (int i = 0; i < graph_->initializer_size(); ++i)
      if (live.count(graph_->initializer(i).name())) inits.Add()->Swap(graph_->mutable_initializer(i));
    graph_->mutable_initializer()->Swap(&inits);
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
  std::map<const Value*, std::string> dequantized_;
  std::set<std::string> own_taken_;
  std::set<std::string>& taken_;  // names in use in the whole model (shared with subgraph exporters)
};

}  // namespace

void export_onnx(const Graph& g, const std::string& path, const OnnxExportOptions& opts) {
  onnx::ModelProto m = with_context(path, [&] {
    Graph unique = g.clone();
    std::set<std::string> seen;
    unique_subgraph_names(unique, seen);
    return Exporter(unique, opts).run();
  });
  std::string bytes;
  if (!m.SerializeToString(&bytes)) fail<IoError>(path, ": cannot serialize the ONNX model (over 2 GiB?)");
  write_file_atomic(path, std::as_bytes(std::span<const char>(bytes.data(), bytes.size())));
}

}  // namespace mq::serialization
