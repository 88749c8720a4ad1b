// If, Loop and Scan: each subgraph gets its own Session, built once when the enclosing
// Session is built; a run feeds it the node's operands (the outer values last, see
// ir/control_flow.h) and taps its values when the enclosing run taps them.
#include "ir/control_flow.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <unordered_set>

#include "engine/executor.h"

namespace mq::ops {

namespace {

/// A subgraph's Session and what a run needs to know about it.
struct Sub {
  std::unique_ptr<Session> session;
  std::vector<std::string> inputs, outputs;  // names, in order
  size_t formal = 0;                         // own inputs before the outer ones
  std::unordered_set<std::string> names;     // every value name, nested subgraphs included
};

struct State {
  std::map<std::string, Sub> subs;  // by attribute name
  SessionOptions options;           // the enclosing Session's
};

std::shared_ptr<void> prepare(const Node& n, const SessionOptions& options) {
  auto st = std::make_shared<State>();
  st->options = options;
  const size_t outer = outer_operand_count(n);
  SessionOptions o = options;
  o.threads = 1;  // no pool of its own: a run borrows the enclosing run's (run_nested)
  o.profile = false;
  for (auto& [attr, g] : subgraphs(n)) {
    Sub s;
    s.session = with_context("subgraph '" + attr + "'", [&, g = g] { return std::make_unique<Session>(*g, o); });
    const Graph& sg = s.session->graph();
    for (Value* v : sg.inputs()) s.inputs.push_back(v->name());
    for (Value* v : sg.outputs()) s.outputs.push_back(v->name());
    if (s.inputs.size() < outer) fail<ShapeError>("subgraph '", attr, "' has fewer inputs than outer values");
    s.formal = s.inputs.size() - outer;
    for_each_graph(*g, [&](Graph& x) {
      for (Value* v : x.values()) s.names.insert(v->name());
    });
    // the outer values were tapped where they were computed
    for (size_t i = s.formal; i < s.inputs.size(); ++i) s.names.erase(s.inputs[i]);
    st->subs.emplace(attr, std::move(s));
  }
  return st;
}

/// Runs a subgraph with its own inputs `own` followed by the node's outer operands.
std::vector<Tensor> run_sub(ExecContext& c, Sub& s, std::vector<Tensor> own) {
  if (own.size() != s.formal)
    fail<Error>(c.node.describe(), ": subgraph given ", own.size(), " inputs, expected ", s.formal);
  TensorMap in;
  for (size_t i = 0; i < own.size(); ++i) in[s.inputs[i]] = std::move(own[i]);
  const size_t first = formal_operand_count(c.node);
  for (size_t i = s.formal; i < s.inputs.size(); ++i) in[s.inputs[i]] = c.in(first + i - s.formal);
  std::vector<std::string> mine;
  if (c.tap)
    for (const std::string& name : *c.tapped)
      if (s.names.count(name)) mine.push_back(name);
  // the subgraph runs on the enclosing run's workers (idle while this step waits)
  TensorMap out = s.session->run_nested(in, mine, mine.empty() ? Session::Tap() : *c.tap, c.pool, c.threads);
  std::vector<Tensor> r;
  for (const std::string& name : s.outputs) r.push_back(out.at(name));
  return r;
}

Sub& sub(ExecContext& c, const char* attr) { return static_cast<State*>(c.state)->subs.at(attr); }

bool truth(const Tensor& t, const Node& n, const char* what) {
  if (t.numel() != 1) fail<ShapeError>(n.describe(), ": ", what, " must hold one element, got ", t.shape().str());
  return t.to_int64()[0] != 0;
}

/// A one-element tensor of `v`'s declared type (a scalar, or [1] when so declared).
template <class T>
Tensor scalar_for(const std::string& name, const Session& s, T x) {
  const Value* v = s.graph().find_value(name);
  std::vector<int64_t> dims;
  if (v && v->shape().has_rank()) dims.assign(v->shape().rank(), 1);
  Tensor t = Tensor::from_vector<T>(dims, std::vector<T>{x});
  return t;
}

/// Element bytes of dims [from, rank) of `dims`.
size_t block_bytes(const std::vector<int64_t>& dims, size_t from, DType dt) {
  size_t b = dtype_size(dt);
  for (size_t i = from; i < dims.size(); ++i) b *= size_t(dims[i]);
  return b;
}

/// Slice `index` of `x` along `axis`, that axis removed.
Tensor take(const Tensor& x, size_t axis, int64_t index) {
  std::vector<int64_t> dims = x.dims();
  int64_t outer = 1;
  for (size_t i = 0; i < axis; ++i) outer *= dims[i];
  const int64_t len = dims[axis];
  const size_t inner = block_bytes(dims, axis + 1, x.dtype());
  dims.erase(dims.begin() + int64_t(axis));
  Tensor r(x.dtype(), dims);
  auto* dst = static_cast<std::byte*>(r.raw());
  const auto* src = static_cast<const std::byte*>(x.raw());
  for (int64_t o = 0; o < outer; ++o)
    std::memcpy(dst + size_t(o) * inner, src + (size_t(o * len + index)) * inner, inner);
  return r;
}

/// The tensors of `parts` (same shape) stacked along a new `axis`; `reverse` stacks them last
/// first.
Tensor stack(const std::vector<Tensor>& parts, size_t axis, bool reverse, const Node& n, int64_t max_bytes) {
  const Tensor& p0 = parts.front();
  if (max_bytes > 0 && double(p0.nbytes()) * double(parts.size()) > double(max_bytes))
    fail<ShapeError>(n.describe(), ": a scan output of ", parts.size(), " × ", p0.nbytes(),
                     " bytes is above the session's limit of ", max_bytes, " (SessionOptions::max_tensor_bytes)");
  for (const Tensor& p : parts)
    if (p.dims() != p0.dims() || p.dtype() != p0.dtype())
      fail<ShapeError>(n.describe(), ": a scan output is ", p0.shape().str(), " in one iteration and ",
                       p.shape().str(), " in another");
  std::vector<int64_t> dims = p0.dims();
  if (axis > dims.size()) fail<ShapeError>(n.describe(), ": scan output axis ", axis, " is out of range");
  int64_t outer = 1;
  for (size_t i = 0; i < axis; ++i) outer *= dims[i];
  const size_t inner = block_bytes(dims, axis, p0.dtype());
  dims.insert(dims.begin() + int64_t(axis), int64_t(parts.size()));
  Tensor r(p0.dtype(), dims);
  auto* dst = static_cast<std::byte*>(r.raw());
  const size_t len = parts.size();
  for (size_t k = 0; k < len; ++k) {
    const auto* src = static_cast<const std::byte*>(parts[reverse ? len - 1 - k : k].raw());
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(dst + (size_t(o) * len + k) * inner, src + size_t(o) * inner, inner);
  }
  return r;
}

/// An empty stack (no iteration ran) of an output typed `t`: [0, dims...] where dims are known.
Tensor empty_stack(const ValueType& t, size_t axis) {
  std::vector<int64_t> dims;
  if (t.shape.has_rank())
    for (const Dim& d : t.shape.dims()) dims.push_back(d.is_static() ? d.value : 0);
  dims.insert(dims.begin() + int64_t(std::min(axis, dims.size())), 0);
  return Tensor(t.dtype == DType::undefined ? DType::f32 : t.dtype, dims);
}

void run_if(ExecContext& c) {
  bool cond = truth(c.in(0), c.node, "cond");
  c.outputs = run_sub(c, sub(c, cond ? "then_branch" : "else_branch"), {});
}

void run_loop(ExecContext& c) {
  Sub& body = sub(c, "body");
  const size_t formal = formal_operand_count(c.node);
  const size_t carried = formal > 2 ? formal - 2 : 0;  // trailing absent M / cond are dropped
  const size_t scans = c.node.outputs().size() - carried;
  int64_t trips = std::numeric_limits<int64_t>::max();
  if (c.has(0)) {
    if (c.in(0).numel() != 1) fail<ShapeError>(c.node.describe(), ": M must hold one element");
    trips = c.in(0).to_int64()[0];
  }
  bool cond = c.has(1) ? truth(c.in(1), c.node, "cond") : true;
  std::vector<Tensor> v;
  for (size_t i = 0; i < carried; ++i) v.push_back(c.in(2 + i));
  std::vector<std::vector<Tensor>> ys(scans);
  const int64_t limit = static_cast<State*>(c.state)->options.max_loop_iterations;
  for (int64_t i = 0; i < trips && cond; ++i) {
    if (limit > 0 && i >= limit)
      fail<InvalidArgument>(c.node.describe(), ": more than ", limit,
                            " iterations (SessionOptions::max_loop_iterations)");
    std::vector<Tensor> own{scalar_for<int64_t>(body.inputs[0], *body.session, i),
                            scalar_for<bool>(body.inputs[1], *body.session, cond)};
    for (auto& t : v) own.push_back(t);
    std::vector<Tensor> out = run_sub(c, body, std::move(own));
    cond = truth(out[0], c.node, "the body's cond output");
    for (size_t j = 0; j < carried; ++j) v[j] = std::move(out[1 + j]);
    for (size_t k = 0; k < scans; ++k) ys[k].push_back(std::move(out[1 + carried + k]));
  }
  c.outputs = std::move(v);
  for (size_t k = 0; k < scans; ++k)
    c.outputs.push_back(
        ys[k].empty() ? empty_stack(body.session->graph().outputs()[1 + carried + k]->type(), 0)
                      : stack(ys[k], 0, false, c.node, static_cast<State*>(c.state)->options.max_tensor_bytes));
}

void run_scan(ExecContext& c) {
  Sub& body = sub(c, "body");
  const size_t formal = formal_operand_count(c.node);
  const size_t m = size_t(c.attrs().get_int("num_scan_inputs"));
  const size_t states = formal - m;
  const size_t scans = c.node.outputs().size() - states;
  auto in_axes = c.attrs().get_ints_or("scan_input_axes", std::vector<int64_t>(m, 0));
  auto in_dirs = c.attrs().get_ints_or("scan_input_directions", std::vector<int64_t>(m, 0));
  auto out_axes = c.attrs().get_ints_or("scan_output_axes", std::vector<int64_t>(scans, 0));
  auto out_dirs = c.attrs().get_ints_or("scan_output_directions", std::vector<int64_t>(scans, 0));
  int64_t len = -1;
  std::vector<size_t> axes;
  for (size_t j = 0; j < m; ++j) {
    const Tensor& x = c.in(states + j);
    size_t axis = size_t(normalize_axis(in_axes[j], int64_t(x.rank())));
    axes.push_back(axis);
    if (len >= 0 && x.dim(axis) != len)
      fail<ShapeError>(c.node.describe(), ": scan inputs have ", len, " and ", x.dim(axis), " steps");
    len = x.dim(axis);
  }
  std::vector<Tensor> st;
  for (size_t i = 0; i < states; ++i) st.push_back(c.in(i));
  std::vector<std::vector<Tensor>> ys(scans);
  for (int64_t t = 0; t < len; ++t) {
    std::vector<Tensor> own = st;
    for (size_t j = 0; j < m; ++j) own.push_back(take(c.in(states + j), axes[j], in_dirs[j] ? len - 1 - t : t));
    std::vector<Tensor> out = run_sub(c, body, std::move(own));
    for (size_t i = 0; i < states; ++i) st[i] = std::move(out[i]);
    for (size_t k = 0; k < scans; ++k) ys[k].push_back(std::move(out[states + k]));
  }
  c.outputs = std::move(st);
  for (size_t k = 0; k < scans; ++k) {
    const ValueType& y = body.session->graph().outputs()[states + k]->type();
    int64_t rank = ys[k].empty() ? int64_t(y.shape.has_rank() ? y.shape.rank() : 0) : int64_t(ys[k][0].rank());
    size_t axis = size_t(normalize_axis(out_axes[k], rank + 1));
    c.outputs.push_back(ys[k].empty() ? empty_stack(y, axis)
                                      : stack(ys[k], axis, out_dirs[k] != 0, c.node,
                                              static_cast<State*>(c.state)->options.max_tensor_bytes));
  }
}

}  // namespace

void register_control_flow_exec() {
  const std::pair<OpKind, ExecFn> table[] = {
      {OpKind::If, run_if}, {OpKind::Loop, run_loop}, {OpKind::Scan, run_scan}};
  for (auto [op, fn] : table) {
    Executor e;
    e.run = fn;
    e.prepare_with_options = prepare;
    e.makes_outputs = true;
    set_executor(op, e);
  }
}

}  // namespace mq::ops
