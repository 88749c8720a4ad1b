#pragma once
/// Where a Session's time goes: wall time per step (node) and per op type, summed over the
/// runs since the Session was built (or the profile was reset), like ONNX Runtime's
/// profiling. Turned on by SessionOptions::profile.
#include <cstdint>
#include <string>
#include <vector>

namespace mq {

/// One step of the plan: a node and the time its executor took.
struct StepTime {
  std::string node;  ///< the node's name
  std::string op;    ///< its op type
  double ms = 0;     ///< summed over `runs`
};

/// A Session's profile.
struct Profile {
  std::vector<StepTime> steps;  ///< in execution order
  double run_ms = 0;            ///< wall time of the runs, steps and the session's own work
  int64_t runs = 0;

  /// Summed per op type, most expensive first: {op, ms, steps of that op}.
  struct OpTime {
    std::string op;
    double ms = 0;
    int64_t count = 0;
  };
  std::vector<OpTime> by_op() const;
  /// run_ms minus the steps: shape checks, buffers, scheduling.
  double overhead_ms() const;
  /// A table per op type and the `top` slowest steps, milliseconds per run.
  std::string str(size_t top = 15) const;
};

}  // namespace mq
