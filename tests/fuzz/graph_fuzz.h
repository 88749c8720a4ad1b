#pragma once
// End-to-end graph fuzzing: a model file goes through load → verify → Session (1 thread) →
// run on small inputs made from the graph's declared input types. mq::Error is an expected
// outcome (fuzz_common.h); anything else (a crash, a sanitizer report, another exception, a
// hang or an allocation over libFuzzer's -malloc_limit_mb) is a bug.
#include <cstdint>
#include <cstring>
#include <string>

#include "engine/api.h"
#include "engine/session.h"
#include "fuzz_common.h"
#include "ir/verifier.h"

namespace mq::fuzz {

/// Graph inputs whose total element count exceeds this are not run (the graph still loads,
/// verifies and compiles).
inline constexpr int64_t kMaxInputElements = int64_t(1) << 16;
/// The largest tensor a fuzzed run may create (a small file may declare huge activations:
/// a run that needs them is refused by the Session, which is what is tested).
inline constexpr int64_t kMaxTensorBytes = int64_t(16) << 20;
/// Graphs with more constant bytes than this load, verify and compile but do not run (the
/// big seeds' convolutions are seconds of honest work under the sanitizers, not hangs).
inline constexpr int64_t kMaxRunConstantBytes = int64_t(256) << 10;
/// The size given to symbolic and unknown dims.
inline constexpr int64_t kSymbolicDim = 2;

/// Fills `t` with small deterministic values: floats in [-1, 1], integers 0..2 (safe as
/// indices), booleans alternating.
inline void fill_small(Tensor& t) {
  const int64_t n = t.numel();
  switch (t.dtype()) {
    case DType::f32:
      for (int64_t i = 0; i < n; ++i) t.data<float>()[i] = float(i % 9 - 4) * 0.25f;
      break;
    case DType::f64:
      for (int64_t i = 0; i < n; ++i) t.data<double>()[i] = double(i % 9 - 4) * 0.25;
      break;
    case DType::f16:
    case DType::bf16: {
      const uint16_t one = t.dtype() == DType::f16 ? 0x3C00 : 0x3F80;  // 1.0
      auto* p = static_cast<uint16_t*>(t.raw());
      for (int64_t i = 0; i < n; ++i) p[i] = (i & 1) ? one : 0;
      break;
    }
    case DType::boolean:
      for (int64_t i = 0; i < n; ++i) t.data<bool>()[i] = (i & 1) != 0;
      break;
    default: {  // integers: 0, 1, 2 in the low byte of each element (little endian)
      auto* p = static_cast<uint8_t*>(t.raw());
      const size_t es = dtype_size(t.dtype());
      for (int64_t i = 0; i < n; ++i) p[size_t(i) * es] = uint8_t(i % 3);
    }
  }
}

/// Inputs for every graph input, or false when they would be too large (or untyped).
inline bool make_inputs(const Graph& g, TensorMap& out) {
  int64_t total = 0;
  for (const Value* v : g.inputs()) {
    if (v->dtype() == DType::undefined) return false;
    std::vector<int64_t> dims;
    if (v->shape().has_rank()) {
      if (v->shape().rank() > 8) return false;
      for (const Dim& d : v->shape().dims()) dims.push_back(d.is_static() ? d.value : kSymbolicDim);
    } else {
      dims = {kSymbolicDim};
    }
    int64_t n = 1;
    for (int64_t d : dims) {
      if (d > kMaxInputElements) return false;
      n *= d;
      if (n > kMaxInputElements) return false;
    }
    total += n;
    if (total > kMaxInputElements) return false;
    Tensor t(v->dtype(), dims);
    fill_small(t);
    if (v->type().quant) t.set_quant(v->type().quant);
    out.emplace(v->name(), std::move(t));
  }
  return true;
}

/// verify → Session(1 thread) → run once on small inputs.
inline void run_graph(const Graph& g) {
  verify(g);
  Session session(g, {.threads = 1, .max_tensor_bytes = kMaxTensorBytes, .max_loop_iterations = 4096});
  int64_t constant_bytes = 0;
  for (const Value* v : g.values())
    if (v->is_constant()) constant_bytes += int64_t(v->constant()->nbytes());
  if (constant_bytes > kMaxRunConstantBytes) return;
  TensorMap inputs;
  if (!make_inputs(session.graph(), inputs)) return;
  session.run(inputs);
}

/// The whole pipeline for a model file of type `ext` (".onnx", ".mqm", ".safetensors", ".pt").
inline int run_model_file(const uint8_t* d, size_t n, const char* ext) {
  return run([&] {
    Graph g = load_model(to_file(d, n, ext));
    run_graph(g);
  });
}

}  // namespace mq::fuzz
