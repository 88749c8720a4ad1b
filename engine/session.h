#pragma once
/// Runs a graph: resolves shapes for the given inputs, reuses buffers, calls executors.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/profile.h"
#include "ir/graph.h"

namespace mq {

class ThreadPool;

/// Session settings.
struct SessionOptions {
  int threads = 0;  ///< worker threads; 0 = all hardware threads; at most max_session_threads()
  /// Largest tensor a run may create, in bytes; 0 = no limit but memory itself. Set it when
  /// running models from untrusted sources: a small file can declare huge activations.
  int64_t max_tensor_bytes = 0;
  /// Most iterations one Loop node may run per call; 0 = no limit. A Loop without a trip
  /// count runs until its body says stop: set it when running untrusted models.
  int64_t max_loop_iterations = 0;
  /// Time every step of every run; read it with Session::profile().
  bool profile = false;
  /// Compile the graph for speed (engine/plan/plan.h): fp32 convolutions in NHWC with their
  /// activation and residual Add fused. Fused-away values cannot be tapped: a Session whose
  /// runs tap intermediate values (calibration, per-layer validation) sets it to false.
  bool optimize = true;
};

/// The most threads a Session accepts: 4 × the hardware threads, within [1, 256].
int max_session_threads();

/// Named tensors in or out of a run.
using TensorMap = std::map<std::string, Tensor>;

/// An executable instance of a graph. Build once, run many times; run() may be called from
/// several threads at once (each call has its own buffers; the Session's worker threads
/// serve one call at a time, the others run on their calling thread).
class Session {
 public:
  /// Prepares `graph` (copied; constant tensors are shared, not copied). Throws
  /// UnsupportedError naming every node the engine cannot run, InvalidArgument when
  /// options.threads is negative or above max_session_threads().
  explicit Session(const Graph& graph, SessionOptions options = {});
  ~Session();
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;

  /// Called with each tapped value's tensor as soon as it is computed.
  using Tap = std::function<void(const Value&, const Tensor&)>;

  /// Runs with named inputs; returns every graph output by name.
  TensorMap run(const TensorMap& inputs);
  /// Same, calling `tap` for each value named in `tapped` (graph inputs included; values
  /// inside If / Loop / Scan subgraphs too, each time the subgraph runs).
  TensorMap run(const TensorMap& inputs, const std::vector<std::string>& tapped, const Tap& tap);

  /// For executors that run a subgraph's Session inside a step of the enclosing one: runs
  /// on `pool` (the enclosing run's workers, idle while the step waits; may be null) with
  /// `threads` threads instead of this Session's own.
  TensorMap run_nested(const TensorMap& inputs, const std::vector<std::string>& tapped, const Tap& tap,
                       ThreadPool* pool, int threads);

  /// Time per step and per op type over the runs so far (SessionOptions::profile; empty
  /// steps without it). reset_profile() starts a new count, e.g. after warm-up runs.
  Profile profile() const;
  void reset_profile();

  const Graph& graph() const;
  std::vector<std::string> input_names() const;
  std::vector<std::string> output_names() const;
  int threads() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mq
