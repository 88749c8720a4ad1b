#include "engine/session.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "engine/buffer_pool.h"
#include "engine/executor.h"
#include "engine/plan/plan.h"
#include "engine/thread_pool.h"
#include "ir/control_flow.h"
#include "ir/infer.h"

namespace mq {

int max_session_threads() { return int(std::clamp(4u * std::thread::hardware_concurrency(), 1u, 256u)); }

struct Session::Impl {
  Graph graph;
  SessionOptions options;
  int threads = 1;
  std::vector<Node*> order;
  std::unordered_map<const Value*, size_t> slot;  // value → index into env
  std::vector<int> use_count;                     // reads per slot (graph outputs count)
  std::vector<std::shared_ptr<void>> states;      // per node prepared state
  std::vector<std::vector<size_t>> in_slots, out_slots;
  std::vector<size_t> input_slots, output_slots;
  std::vector<bool> is_const;
  std::unique_ptr<ThreadPool> workers;
  // Inference is skipped for a node whose operand types are those of the previous run, unless
  // its output type may depend on operand values that are not constants (shape operands).
  std::vector<char> shape_only;  // per step: output types follow from operand types
  /// What one run() changes: buffers and the last operand and output types per step. Runs
  /// take one from `idle` (or make one), so concurrent runs never share it.
  struct RunState {
    BufferPool pool;
    std::vector<std::vector<ValueType>> last_in, last_out;
    std::vector<std::vector<std::vector<int64_t>>> out_dims;  // per step: last_out's dims
    std::vector<std::vector<const Tensor*>> in_ptrs;          // per step, capacity kept
    std::vector<std::vector<Tensor>> out_bufs;                // per step, capacity kept
    std::vector<std::shared_ptr<Storage>> acquired;           // the step's output buffers
    std::vector<std::vector<int64_t>> input_dims;             // the last run's graph input dims
    std::vector<DType> input_dtypes;
  };
  std::mutex state_mutex;  // guards idle, step_ms, run_ms, runs
  std::vector<std::unique_ptr<RunState>> idle;
  std::mutex pool_mutex;  // the worker pool serves one run at a time; others run on their own thread
  std::vector<std::pair<size_t, const Tensor*>> constants;  // slot, data
  std::unordered_set<std::string> nested_names;  // values of subgraphs (tapped by their nodes' executors)
  std::vector<double> step_ms;                   // profile: per step, summed over runs
  double run_ms = 0;
  int64_t runs = 0;

  Impl(const Graph& g, SessionOptions o) : graph(g.clone()), options(o) {
    if (o.optimize) plan::compile(graph);
    if (o.threads < 0 || o.threads > max_session_threads())
      fail<InvalidArgument>("SessionOptions.threads is ", o.threads, "; it must be 0 (all cores) to ",
                            max_session_threads(), " (4 × the hardware threads)");
    if (o.max_tensor_bytes < 0) fail<InvalidArgument>("SessionOptions.max_tensor_bytes must be >= 0");
    threads = o.threads > 0 ? o.threads : int(std::max(1u, std::thread::hardware_concurrency()));
    if (threads > 1) workers = std::make_unique<ThreadPool>(size_t(threads));
    for (Value* v : graph.values()) {
      slot[v] = slot.size();
    }
    use_count.assign(slot.size(), 0);
    is_const.assign(slot.size(), false);
    for (Value* v : graph.values())
      if (v->is_constant()) is_const[slot[v]] = true;
    order = graph.nodes();
    std::map<std::string, std::vector<std::string>> unsupported;
    for (Node* n : order) {
      if (!executor(n->op()).run) unsupported[std::string(n->op_name())].push_back(n->name());
    }
    if (!unsupported.empty()) {
      std::string msg = "the engine cannot run ";
      bool first = true;
      for (auto& [op, nodes] : unsupported) {
        msg += (first ? "" : "; ") + op + " (";
        for (size_t i = 0; i < nodes.size(); ++i) msg += (i ? ", '" : "'") + nodes[i] + "'";
        msg += ")";
        first = false;
      }
      throw UnsupportedError(msg);
    }
    for (Node* n : order) {
      std::vector<size_t> ins, outs;
      for (Value* v : n->inputs()) {
        ins.push_back(v ? slot[v] : SIZE_MAX);
        if (v) use_count[slot[v]]++;
      }
      for (Value* v : n->outputs()) outs.push_back(slot[v]);
      in_slots.push_back(std::move(ins));
      out_slots.push_back(std::move(outs));
      states.push_back(prepare_node(*n, options));
      for (auto& [attr, sub] : subgraphs(*n))
        for_each_graph(*sub, [&](Graph& g) {
          for (Value* v : g.values()) nested_names.insert(v->name());
        });
    }
    for (Node* n : order) {
      bool values_matter = false;
      switch (n->op()) {
        case OpKind::Reshape:
        case OpKind::Split:
        case OpKind::Slice:
        case OpKind::Squeeze:
        case OpKind::Unsqueeze:
        case OpKind::ConstantOfShape:
        case OpKind::Expand:
        case OpKind::Pad:
        case OpKind::Resize:
        case OpKind::Range:
        case OpKind::Tile:
        case OpKind::ReduceMean:
        case OpKind::ReduceMax:
        case OpKind::ReduceMin:
        case OpKind::ReduceSum:
        case OpKind::ReduceProd:
        case OpKind::ReduceL2:
        case OpKind::QuantizeLinear:
        case OpKind::DequantizeLinear:
        case OpKind::DynamicQuantizeLinear:
        case OpKind::QLinearMatMul:
        case OpKind::QLinearConv:
        case OpKind::MatMulInteger:
        case OpKind::ConvInteger:
        case OpKind::Clip: values_matter = true; break;
        default: break;
      }
      bool all_const = true;
      for (Value* v : n->inputs()) all_const = all_const && (!v || v->is_constant());
      shape_only.push_back(!values_matter || all_const);
    }
    for (Value* v : graph.values())
      if (v->is_constant()) constants.emplace_back(slot[v], &*v->constant());
    for (Value* v : graph.inputs()) input_slots.push_back(slot[v]);
    for (Value* v : graph.outputs()) {
      output_slots.push_back(slot[v]);
      use_count[slot[v]]++;
    }
  }

  /// The operands have the dtypes, dims and quantization of `types` (a previous run's).
  static bool same_types(const std::vector<ValueType>& types, const std::vector<const Tensor*>& ts) {
    if (types.size() != ts.size()) return false;
    for (size_t i = 0; i < ts.size(); ++i) {
      const ValueType& vt = types[i];
      const Tensor* t = ts[i];
      if (!t) {
        if (vt.dtype != DType::undefined) return false;
        continue;
      }
      if (vt.dtype != t->dtype() || !vt.shape.has_rank() || vt.shape.rank() != t->rank() || vt.quant != t->quant())
        return false;
      for (size_t d = 0; d < t->rank(); ++d)
        if (vt.shape[d].value != t->dim(d)) return false;
    }
    return true;
  }

  void check_input(const Value& v, const Tensor& t, std::map<std::string, int64_t>& symbols) {
    if (t.dtype() != v.dtype())
      fail<InvalidArgument>("input '", v.name(), "' must be ", dtype_name(v.dtype()), ", got ",
                            dtype_name(t.dtype()));
    const Shape& s = v.shape();
    if (!s.has_rank()) return;
    if (s.rank() != t.rank())
      fail<InvalidArgument>("input '", v.name(), "' must have shape ", s.str(), ", got ", t.shape().str());
    for (size_t i = 0; i < s.rank(); ++i) {
      const Dim& d = s[i];
      if (d.is_static() && d.value != t.dim(i))
        fail<InvalidArgument>("input '", v.name(), "' must have shape ", s.str(), ", got ", t.shape().str());
      if (!d.is_static() && !d.symbol.empty()) {
        auto [it, fresh] = symbols.emplace(d.symbol, t.dim(i));
        if (!fresh && it->second != t.dim(i))
          fail<InvalidArgument>("input '", v.name(), "' dim ", i, " ('", d.symbol, "') is ", t.dim(i),
                                " but another input set it to ", it->second);
      }
    }
  }

  TensorMap run(const TensorMap& inputs, const std::vector<std::string>& tapped, const Tap& tap,
                ThreadPool* lent_pool = nullptr, int lent_threads = 1) {
    using Clock = std::chrono::steady_clock;
    const bool profiling = options.profile;
    const Clock::time_point run_start = profiling ? Clock::now() : Clock::time_point{};
    std::vector<double> my_ms(profiling ? order.size() : 0, 0.0);
    // per-call state, returned for the next run however this one ends
    std::unique_ptr<RunState> state;
    {
      std::lock_guard<std::mutex> lock(state_mutex);
      if (!idle.empty()) {
        state = std::move(idle.back());
        idle.pop_back();
      }
    }
    if (!state) {
      state = std::make_unique<RunState>();
      state->last_in.resize(order.size());
      state->last_out.resize(order.size());
      state->out_dims.resize(order.size());
      state->in_ptrs.resize(order.size());
      state->out_bufs.resize(order.size());
    }
    struct GiveBack {
      Impl& impl;
      std::unique_ptr<RunState>& state;
      ~GiveBack() {
        std::lock_guard<std::mutex> lock(impl.state_mutex);
        impl.idle.push_back(std::move(state));
      }
    } give_back{*this, state};
    BufferPool& pool = state->pool;
    auto& last_in = state->last_in;
    auto& last_out = state->last_out;
    // the worker pool, when no other run holds it; otherwise this run uses its own thread only
    std::unique_lock<std::mutex> pool_lock(pool_mutex, std::defer_lock);
    ThreadPool* run_pool = nullptr;
    int run_threads = 1;
    if (lent_pool) {
      run_pool = lent_pool;
      run_threads = lent_threads;
    } else if (workers && pool_lock.try_lock()) {
      run_pool = workers.get();
      run_threads = threads;
    }
    std::vector<Tensor> env(slot.size());
    std::vector<int> remaining = use_count;
    for (const auto& [s, t] : constants) env[s] = *t;
    std::map<std::string, int64_t> symbols;
    // The inputs have the dtypes and dims of the previous run: every step whose output types
    // follow from its operand types repeats the previous run's types without checking them,
    // until a step whose types depend on operand values (Reshape of a computed shape, …)
    // gives other types than last time.
    bool same_signature = state->input_dims.size() == graph.inputs().size();
    for (size_t i = 0; i < graph.inputs().size(); ++i) {
      Value* v = graph.inputs()[i];
      auto it = inputs.find(v->name());
      if (it == inputs.end()) fail<InvalidArgument>("input '", v->name(), "' is missing");
      check_input(*v, it->second, symbols);
      env[slot.at(v)] = it->second;
      same_signature = same_signature && !it->second.quant() && state->input_dtypes[i] == it->second.dtype() &&
                       state->input_dims[i] == it->second.dims();
    }
    // a run that fails part way leaves steps with older types: the next one checks them all
    if (!same_signature) state->input_dims.clear();
    for (auto& entry : inputs) {
      const std::string& name = entry.first;  // clang < 16 cannot capture a structured binding
      if (!graph.find_value(name) || graph.find_value(name)->producer() || graph.find_value(name)->is_constant())
        if (std::find_if(graph.inputs().begin(), graph.inputs().end(),
                         [&](Value* v) { return v->name() == name; }) == graph.inputs().end())
          fail<InvalidArgument>("'", name, "' is not an input of the model");
    }
    std::vector<char> tap_slot(slot.size(), 0);
    for (auto& name : tapped) {
      const Value* v = graph.find_value(name);
      if (!v && nested_names.count(name)) continue;  // tapped inside a subgraph
      if (!v)
        fail<InvalidArgument>(
            "no value named '", name, "' to tap",
            options.optimize
                ? " (the compiled plan may have fused it away: "
                  "build the Session with SessionOptions::optimize = false to tap intermediate values)"
                : "");
      tap_slot[slot.at(v)] = 1;
    }
    if (tap)
      for (Value* v : graph.inputs())
        if (tap_slot[slot.at(v)]) tap(*v, env[slot.at(v)]);

    for (size_t k = 0; k < order.size(); ++k) {
      Node* n = order[k];
      ExecContext ctx{
          *n, std::move(state->in_ptrs[k]), std::move(state->out_bufs[k]), states[k].get(), run_pool, run_threads};
      ctx.inputs.clear();
      ctx.outputs.clear();
      if (tap) {
        ctx.tapped = &tapped;
        ctx.tap = &tap;
      }
      for (size_t s : in_slots[k]) ctx.inputs.push_back(s == SIZE_MAX ? nullptr : &env[s]);
      const bool makes_outputs = executor(n->op()).makes_outputs;
      const bool known = same_signature && shape_only[k] && !last_out[k].empty();
      if (makes_outputs) {
        // the executor creates the outputs (their shapes are known once it has run)
      } else if (!known && (!shape_only[k] || last_out[k].empty() || !same_types(last_in[k], ctx.inputs))) {
        std::vector<ValueType> in_types;
        for (const Tensor* t : ctx.inputs) {
          ValueType vt;
          if (t) {
            vt.dtype = t->dtype();
            vt.shape = t->shape();
            vt.quant = t->quant();
          }
          in_types.push_back(vt);
        }
        std::vector<ValueType> out = infer_node(*n, in_types, ctx.inputs);
        if (!shape_only[k] && same_signature && out != last_out[k]) same_signature = false;
        last_out[k] = std::move(out);
        last_in[k] = std::move(in_types);
        const std::vector<ValueType>& out_types = last_out[k];
        state->out_dims[k].clear();
        for (size_t i = 0; i < n->outputs().size(); ++i) {
          if (i >= out_types.size() || !out_types[i].shape.is_static() || out_types[i].dtype == DType::undefined)
            fail<ShapeError>(n->describe(), ": output ", i, " has no concrete type at run time (",
                             i < out_types.size() ? out_types[i].str() : "none", ")");
          if (options.max_tensor_bytes > 0) {
            double bytes = double(dtype_size(out_types[i].dtype));
            for (int64_t d : out_types[i].shape.values()) bytes *= double(d);
            if (bytes > double(options.max_tensor_bytes))
              fail<ShapeError>(n->describe(), ": output ", i, " ", out_types[i].shape.str(), " needs ", bytes,
                               " bytes, above the session's limit of ", options.max_tensor_bytes,
                               " (SessionOptions::max_tensor_bytes)");
          }
          state->out_dims[k].push_back(out_types[i].shape.values());
        }
      }
      const std::vector<ValueType>& out_types = last_out[k];
      state->acquired.clear();  // (a run that failed part way may have left some)
      for (size_t i = 0; !makes_outputs && i < n->outputs().size(); ++i) {
        ctx.outputs.push_back(pool.acquire(out_types[i].dtype, state->out_dims[k][i]));
        if (const auto& q = n->output(i)->type().quant) ctx.outputs.back().set_quant(q);
        state->acquired.push_back(ctx.outputs.back().storage());
      }
      if (profiling) {
        const Clock::time_point t0 = Clock::now();
        executor(n->op()).run(ctx);
        my_ms[k] += std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      } else {
        executor(n->op()).run(ctx);
      }
      // a buffer the executor did not use (its output is a view of an operand: Reshape, …) goes
      // back to the pool rather than being freed, so the next run does not allocate it again
      for (size_t i = 0; i < state->acquired.size(); ++i)
        if (i >= ctx.outputs.size() || ctx.outputs[i].storage() != state->acquired[i])
          pool.release(std::move(state->acquired[i]));
      state->acquired.clear();
      if (ctx.outputs.size() != out_slots[k].size())
        fail<Error>(n->describe(), ": made ", ctx.outputs.size(), " outputs instead of ", out_slots[k].size());
      if (makes_outputs) {  // output shapes that depend on values: later steps check theirs when they change
        auto& dims = state->out_dims[k];
        bool same = dims.size() == ctx.outputs.size();
        for (size_t i = 0; same && i < ctx.outputs.size(); ++i) same = dims[i] == ctx.outputs[i].dims();
        if (!same) {
          same_signature = false;
          dims.clear();
          for (const Tensor& t : ctx.outputs) dims.push_back(t.dims());
        }
      }
      for (size_t i = 0; i < out_slots[k].size(); ++i) {
        size_t s = out_slots[k][i];
        env[s] = std::move(ctx.outputs[i]);
        if (tap && tap_slot[s]) tap(*n->outputs()[i], env[s]);
        if (remaining[s] == 0) pool.release(std::move(env[s]));
      }
      for (size_t s : in_slots[k]) {
        if (s == SIZE_MAX || is_const[s]) continue;
        if (--remaining[s] == 0) pool.release(std::move(env[s]));
      }
      state->in_ptrs[k] = std::move(ctx.inputs);
      state->out_bufs[k] = std::move(ctx.outputs);
    }
    if (state->input_dims.empty()) {  // every step's types are now this signature's
      state->input_dtypes.clear();
      for (Value* v : graph.inputs()) {
        const Tensor& t = inputs.at(v->name());
        state->input_dims.push_back(t.dims());
        state->input_dtypes.push_back(t.quant() ? DType::undefined
                                                : t.dtype());  // quantized inputs: always checked
      }
    }
    TensorMap out;
    for (size_t i = 0; i < output_slots.size(); ++i) out[graph.outputs()[i]->name()] = env[output_slots[i]];
    if (profiling) {
      std::lock_guard<std::mutex> lock(state_mutex);
      if (step_ms.size() != order.size()) step_ms.assign(order.size(), 0.0);
      for (size_t k = 0; k < order.size(); ++k) step_ms[k] += my_ms[k];
      run_ms += std::chrono::duration<double, std::milli>(Clock::now() - run_start).count();
      runs++;
    }
    return out;
  }
};

Session::Session(const Graph& graph, SessionOptions options) : impl_(std::make_unique<Impl>(graph, options)) {}
Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

TensorMap Session::run(const TensorMap& inputs) { return impl_->run(inputs, {}, nullptr); }
TensorMap Session::run(const TensorMap& inputs, const std::vector<std::string>& tapped, const Tap& tap) {
  return impl_->run(inputs, tapped, tap);
}
TensorMap Session::run_nested(const TensorMap& inputs, const std::vector<std::string>& tapped, const Tap& tap,
                              ThreadPool* pool, int threads) {
  return impl_->run(inputs, tapped, tap, pool, pool ? threads : 1);
}
const Graph& Session::graph() const { return impl_->graph; }

Profile Session::profile() const {
  std::lock_guard<std::mutex> lock(impl_->state_mutex);
  Profile p;
  p.runs = impl_->runs;
  p.run_ms = impl_->run_ms;
  if (impl_->step_ms.size() != impl_->order.size()) return p;
  for (size_t k = 0; k < impl_->order.size(); ++k)
    p.steps.push_back({impl_->order[k]->name(), std::string(impl_->order[k]->op_name()), impl_->step_ms[k]});
  return p;
}

void Session::reset_profile() {
  std::lock_guard<std::mutex> lock(impl_->state_mutex);
  std::fill(impl_->step_ms.begin(), impl_->step_ms.end(), 0.0);
  impl_->run_ms = 0;
  impl_->runs = 0;
}
int Session::threads() const { return impl_->threads; }

std::vector<std::string> Session::input_names() const {
  std::vector<std::string> r;
  for (Value* v : impl_->graph.inputs()) r.push_back(v->name());
  return r;
}
std::vector<std::string> Session::output_names() const {
  std::vector<std::string> r;
  for (Value* v : impl_->graph.outputs()) r.push_back(v->name());
  return r;
}

}  // namespace mq
