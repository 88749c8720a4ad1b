#pragma once
// The small fixed model the calibration targets read data for: x f32[batch,1,28,28] (the
// layout of examples/data/calib_images.npy and mnist8's input_0.pb) → Linear(4) → Relu.
#include "ir/graph.h"

namespace mq::fuzz {

inline Graph calibration_model() {
  Graph g;
  Value* x = g.add_input("x", ValueType{DType::f32, Shape(std::vector<Dim>{Dim::sym("batch"), 1, 28, 28}), {}});
  std::vector<float> w(4 * 28), b(4);
  for (size_t i = 0; i < w.size(); ++i) w[i] = float(int(i % 7) - 3) * 0.1f;
  Node* fc = g.add_node(OpKind::Linear, {.name = "fc",
                                         .inputs = {x, g.add_constant("w", Tensor::from_vector<float>({4, 28}, w)),
                                                    g.add_constant("b", Tensor::from_vector<float>({4}, b))}});
  Node* relu = g.add_node(OpKind::Relu, {.name = "relu", .inputs = {fc->output(0)}, .output_names = {"y"}});
  g.add_output(relu->output(0));
  return g;
}

/// The file kinds the calibration-source target writes its input as, chosen by the first byte.
inline const char* const kCalibrationKinds[] = {".npy", ".npz", ".pb", ".safetensors", "/input_0.pb"};

}  // namespace mq::fuzz
