#pragma once
/// Op executors: one run function per IR op (and an optional prepare step that runs once,
/// when a Session is built, e.g. to pack weights). Each op family file registers its own.
#include <functional>
#include <memory>
#include <vector>

#include "engine/session.h"
#include "ir/graph.h"

namespace mq {

class ThreadPool;

/// What an executor sees for one node at run time.
struct ExecContext {
  const Node& node;
  std::vector<const Tensor*> inputs;  ///< nullptr for absent optional operands
  std::vector<Tensor> outputs;        ///< allocated with the inferred dtype and shape
  void* state = nullptr;              ///< what prepare() returned, if anything
  ThreadPool* pool = nullptr;         ///< the session's pool (may be null: run inline)
  int threads = 1;                    ///< threads available
  /// The run's tapped value names and callback (Session::run), for executors that run
  /// subgraphs (their values are tapped too); null when the run taps nothing.
  const std::vector<std::string>* tapped = nullptr;
  const Session::Tap* tap = nullptr;

  const Tensor& in(size_t i) const;
  bool has(size_t i) const { return i < inputs.size() && inputs[i] != nullptr; }
  const Attributes& attrs() const { return node.attrs(); }
  Tensor& out(size_t i) { return outputs.at(i); }
};

/// Runs a node. Must fill every output (buffers are reused and not zeroed).
using ExecFn = void (*)(ExecContext&);
/// Builds per-node state once per Session (e.g. packed weights from constant operands).
using PrepareFn = std::shared_ptr<void> (*)(const Node&);

/// Builds per-node state once per Session, seeing the Session's options (control flow builds
/// one Session per subgraph here).
using PrepareWithOptionsFn = std::shared_ptr<void> (*)(const Node&, const SessionOptions&);

/// An op's executor.
struct Executor {
  ExecFn run = nullptr;
  PrepareFn prepare = nullptr;
  PrepareWithOptionsFn prepare_with_options = nullptr;  ///< used instead of prepare when set
  /// The executor creates its outputs itself (their shapes are known only once it has run,
  /// e.g. which branch of an If ran): the Session neither infers nor allocates them.
  bool makes_outputs = false;
};

/// The state n's executor prepares once (prepare_with_options or prepare; null when it has
/// neither). Errors name the node.
std::shared_ptr<void> prepare_node(const Node& n, const SessionOptions& options);

/// Runs one node on its own (what constant folding does): output types inferred from the
/// operands, outputs allocated, the executor prepared and run on one thread. Returns no
/// tensors (and runs nothing) when an output's shape is not static or holds more than
/// `max_elements` elements or all of them more than `max_bytes` bytes (0: no limit).
std::vector<Tensor> run_node(const Node& n, const std::vector<const Tensor*>& inputs, int64_t max_elements = 0,
                             int64_t max_bytes = 0);

/// Registers the executor of an op (called from engine/ops/*.cpp register functions).
void set_executor(OpKind op, Executor e);
/// The executor of an op (run is nullptr when the engine cannot run it).
const Executor& executor(OpKind op);

namespace ops {
// One register function per op family file in engine/ops/.
void register_elementwise_exec();
void register_activation_exec();
void register_layers_exec();
void register_shape_exec();
void register_reduce_exec();
void register_pool_norm_exec();
void register_quantized_exec();
void register_fused_exec();
void register_control_flow_exec();
}  // namespace ops

}  // namespace mq
