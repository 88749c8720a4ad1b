// Type inference of If, Loop and Scan from their subgraphs' declared inputs and outputs, and
// the helpers of ir/control_flow.h. Where branches or iterations may differ, dims become
// unknown; a dtype or a subgraph signature that cannot match is a ShapeError.
#include "ir/control_flow.h"

#include "ir/ops/families.h"

namespace mq {

bool is_control_flow(OpKind op) { return op == OpKind::If || op == OpKind::Loop || op == OpKind::Scan; }

size_t outer_operand_count(const Node& n) {
  int64_t k = n.attrs().get_int_or("outer_inputs", 0);
  if (k < 0 || size_t(k) > n.inputs().size())
    fail<ShapeError>(n.describe(), ": outer_inputs is ", k, " but the node has ", n.inputs().size(), " operands");
  return size_t(k);
}

size_t formal_operand_count(const Node& n) { return n.inputs().size() - outer_operand_count(n); }

std::vector<std::pair<std::string, Graph*>> subgraphs(const Node& n) {
  std::vector<std::pair<std::string, Graph*>> r;
  for (const std::string& a : n.attrs().graph_names()) r.emplace_back(a, &n.attrs().get_graph(a));
  return r;
}

namespace ops {
namespace {

// Both types as one: same dtype required; dims that differ become unknown.
ValueType merge(const ValueType& a, const ValueType& b, const std::string& what) {
  if (a.dtype != b.dtype)
    fail<ShapeError>(what, " is ", dtype_name(a.dtype), " in one case and ", dtype_name(b.dtype), " in another");
  ValueType r;
  r.dtype = a.dtype;
  if (!a.shape.has_rank() || !b.shape.has_rank() || a.shape.rank() != b.shape.rank()) return r;
  std::vector<Dim> dims;
  for (size_t i = 0; i < a.shape.rank(); ++i) dims.push_back(a.shape[i] == b.shape[i] ? a.shape[i] : Dim());
  r.shape = Shape(std::move(dims));
  return r;
}

size_t outer_count(const InferContext& c) {
  int64_t k = c.attrs().get_int_or("outer_inputs", 0);
  if (k < 0 || size_t(k) > c.num_inputs())
    fail<ShapeError>("outer_inputs is ", k, " but the node has ", c.num_inputs(), " operands");
  return size_t(k);
}

// Checks a subgraph's signature: `formal` own inputs, then the node's outer operands, whose
// dtypes must agree; `outputs` outputs (0 = any count).
const Graph& body(const InferContext& c, const char* attr, size_t formal, size_t outputs) {
  const Graph& g = c.attrs().get_graph(attr);
  size_t outer = outer_count(c);
  if (g.inputs().size() != formal + outer)
    fail<ShapeError>("subgraph '", attr, "' has ", g.inputs().size(), " inputs; it must have ", formal + outer,
                     " (", formal, " of its own and ", outer, " from the enclosing graph)");
  size_t first = c.num_inputs() - outer;
  for (size_t i = 0; i < outer; ++i)
    if (c.inputs[first + i].dtype != DType::undefined &&
        g.inputs()[formal + i]->dtype() != c.inputs[first + i].dtype)
      fail<ShapeError>("subgraph '", attr, "' input '", g.inputs()[formal + i]->name(), "' is ",
                       dtype_name(g.inputs()[formal + i]->dtype()), " but the node's operand ", first + i, " is ",
                       dtype_name(c.inputs[first + i].dtype));
  if (outputs && g.outputs().size() != outputs)
    fail<ShapeError>("subgraph '", attr, "' has ", g.outputs().size(), " outputs; it must have ", outputs);
  return g;
}

void infer_if(InferContext& c) {
  c.require(0);
  if (c.shape(0).has_rank() && c.shape(0).is_static() && c.shape(0).numel() != 1)
    fail<ShapeError>("cond must hold one element, got ", c.shape(0).str());
  const size_t n = c.node.outputs().size();
  const Graph& t = body(c, "then_branch", 0, n);
  const Graph& e = body(c, "else_branch", 0, n);
  const Tensor* cond = c.value(0);
  for (size_t i = 0; i < n; ++i) {
    const ValueType& a = t.outputs()[i]->type();
    const ValueType& b = e.outputs()[i]->type();
    ValueType r =
        cond && cond->numel() == 1 ? (cond->to_int64()[0] ? a : b) : merge(a, b, "output " + std::to_string(i));
    c.set(i, r.dtype, r.shape);
  }
}

void infer_loop(InferContext& c) {
  const size_t outer = outer_count(c);
  const size_t formal = c.num_inputs() - outer;
  const size_t carried = formal > 2 ? formal - 2 : 0;  // trailing absent M / cond are dropped
  const size_t n = c.node.outputs().size();
  if (n < carried) fail<ShapeError>("Loop has ", carried, " loop-carried values but ", n, " outputs");
  const Graph& g = body(c, "body", 2 + carried, 1 + n);
  if (g.outputs()[0]->dtype() != DType::boolean) fail<ShapeError>("the body's first output (cond) must be bool");
  for (size_t i = 0; i < carried; ++i) {
    c.require(2 + i);
    ValueType r = merge(c.in(2 + i), g.outputs()[1 + i]->type(), "loop-carried value " + std::to_string(i));
    c.set(i, r.dtype, r.shape);
  }
  for (size_t k = carried; k < n; ++k) {
    const ValueType& y = g.outputs()[1 + k]->type();
    Shape s = Shape::unknown_rank();
    if (y.shape.has_rank()) {
      std::vector<Dim> dims{Dim()};
      for (const Dim& d : y.shape.dims()) dims.push_back(d);
      s = Shape(std::move(dims));
    }
    c.set(k, y.dtype, std::move(s));
  }
}

void infer_scan(InferContext& c) {
  const size_t outer = outer_count(c);
  const size_t formal = c.num_inputs() - outer;
  const int64_t m = c.attrs().get_int("num_scan_inputs");
  if (m < 1 || size_t(m) > formal)
    fail<ShapeError>("num_scan_inputs is ", m, " but the node has ", formal, " operands");
  const size_t states = formal - size_t(m);
  const size_t n = c.node.outputs().size();
  if (n < states) fail<ShapeError>("Scan has ", states, " state values but ", n, " outputs");
  const size_t scans_out = n - states;
  const Graph& g = body(c, "body", formal, n);
  auto in_axes = c.attrs().get_ints_or("scan_input_axes", std::vector<int64_t>(size_t(m), 0));
  auto in_dirs = c.attrs().get_ints_or("scan_input_directions", std::vector<int64_t>(size_t(m), 0));
  auto out_axes = c.attrs().get_ints_or("scan_output_axes", std::vector<int64_t>(scans_out, 0));
  auto out_dirs = c.attrs().get_ints_or("scan_output_directions", std::vector<int64_t>(scans_out, 0));
  if (in_axes.size() != size_t(m) || in_dirs.size() != size_t(m))
    fail<ShapeError>("scan_input_axes and scan_input_directions must have num_scan_inputs (", m, ") entries");
  if (out_axes.size() != scans_out || out_dirs.size() != scans_out)
    fail<ShapeError>("scan_output_axes and scan_output_directions must have one entry per scan output (",
                     scans_out, ")");
  for (auto d : in_dirs)
    if (d != 0 && d != 1) fail<ShapeError>("scan_input_directions must be 0 or 1");
  for (auto d : out_dirs)
    if (d != 0 && d != 1) fail<ShapeError>("scan_output_directions must be 0 or 1");
  Dim length;  // the number of iterations, when every scan input agrees on it
  for (size_t j = 0; j < size_t(m); ++j) {
    c.require(states + j);
    const Shape& s = c.shape(states + j);
    if (!s.has_rank()) continue;
    if (s.rank() == 0) fail<ShapeError>("scan input ", j, " is a scalar; it needs an axis to scan");
    int64_t axis = normalize_axis(in_axes[j], int64_t(s.rank()));
    if (j == 0) length = s[size_t(axis)];
    else if (!(length == s[size_t(axis)])) length = Dim();
  }
  for (size_t i = 0; i < states; ++i) {
    c.require(i);
    ValueType r = merge(c.in(i), g.outputs()[i]->type(), "state value " + std::to_string(i));
    c.set(i, r.dtype, r.shape);
  }
  for (size_t k = 0; k < scans_out; ++k) {
    const ValueType& y = g.outputs()[states + k]->type();
    Shape s = Shape::unknown_rank();
    if (y.shape.has_rank()) {
      std::vector<Dim> dims = y.shape.dims();
      int64_t axis = normalize_axis(out_axes[k], int64_t(dims.size()) + 1);
      dims.insert(dims.begin() + axis, length);
      s = Shape(std::move(dims));
    }
    c.set(states + k, y.dtype, std::move(s));
  }
}

}  // namespace

void register_control_flow() {
  set_infer_fn(OpKind::If, infer_if);
  set_infer_fn(OpKind::Loop, infer_loop);
  set_infer_fn(OpKind::Scan, infer_scan);
}

}  // namespace ops
}  // namespace mq
