#pragma once
/// Saving and loading whole models (a Graph in, a Graph out) in every format monoquant
/// writes. Low-level formats have their own headers: npy.h, zip.h, pickle.h, safetensors.h,
/// onnx_tensor.h. All writes are atomic (serialization/io.h: AtomicFile).
#include <string>
#include <vector>

#include "ir/graph.h"

namespace mq::serialization {

/// Saves `g` in the format its extension names: .mqm, .safetensors, .pt / .pth, or .onnx
/// (QDQ export, save only). Any other extension is an InvalidArgument naming it. The write
/// is atomic: on error no partial file is left and an existing file is untouched. Saving over
/// the file a graph was loaded from is safe (the old file stays mapped until released).
void save_graph(const Graph& g, const std::string& path);
/// Loads a graph saved by monoquant from .mqm, .safetensors, .pt or .pth (loading .onnx is
/// the importer's job: InvalidArgument pointing there).
Graph load_graph(const std::string& path);

/// Writes the native FlatBuffers format (schema serialization/mqm.fbs).
void save_mqm(const Graph& g, const std::string& path);
/// Maps an .mqm file; constants borrow the mapped bytes (no copy). The verifier runs first.
Graph load_mqm(const std::string& path);

/// Writes constants as safetensors tensors (quantized ones as data + `<name>.scale` +
/// `<name>.zero_point`) with the graph description in `__metadata__`.
void save_safetensors_model(const Graph& g, const std::string& path);
/// Loads a file written by save_safetensors_model into a runnable graph.
Graph load_safetensors_model(const std::string& path);

/// What load_safetensors_weights did.
struct WeightsReport {
  std::vector<std::string> replaced;         ///< constants whose data came from the file
  std::vector<std::string> unused_in_file;   ///< file tensors with no constant of that name
  std::vector<std::string> missing_in_file;  ///< constants the file does not hold
};
/// Replaces the constants of `g` by the tensors of the same name in a (plain) safetensors
/// file, e.g. one written by the Python safetensors package; dtype and shape must match
/// (FormatError naming the tensor otherwise). Note: `g` is rebuilt, so Value* and Node*
/// pointers into it are invalidated.
WeightsReport load_safetensors_weights(Graph& g, const std::string& path);

/// The reserved archive record holding the graph description in a .pt file.
inline constexpr const char* kTorchGraphRecord = "monoquant/graph.json";
/// Writes a torch.save-compatible zip whose data.pkl is an OrderedDict state dict of the
/// constants (quantized int8/uint8/int32 constants as torch quantized tensors); the graph
/// description is an extra archive record that torch.load ignores.
void save_torch_model(const Graph& g, const std::string& path);
/// Loads a .pt written by save_torch_model (restricted unpickler; nothing is executed).
Graph load_torch_model(const std::string& path);

/// Options of the QDQ ONNX export.
struct OnnxExportOptions {
  int64_t min_opset = 13;      ///< raised automatically when an op needs a newer opset
  bool linear_as_gemm = true;  ///< Linear with a rank-2 input → Gemm(transB=1), else MatMul+Add
  /// monoquant's int8 layer weights are written as uint8 with zero point 128 (the same real
  /// values). ONNX Runtime then runs them on its u8×u8 kernels, which are exact on every
  /// CPU; its u8×s8 kernels (what int8 weights select) use vpmaddubsw on AVX2 CPUs without
  /// VNNI, whose pairwise int16 sums saturate for large weights and activations, so the
  /// outputs drift from monoquant's by many quantization steps. false keeps int8 weights
  /// (the form ONNX Runtime's own quantizer writes, faster on VNNI CPUs).
  bool int8_weights_as_uint8 = true;
};
/// Writes `g` as a standard ONNX model (opset ≥ 13): constants become initializers of their
/// own type, float values with QuantParams get QuantizeLinear → DequantizeLinear pairs, and
/// monoquant's quantized layers (QLinear, QConv2d, DynamicQLinear, QLSTM, DynamicQLSTM)
/// are written in QDQ form around the float op — DequantizeLinear'd int8 weights and int32
/// biases, QuantizeLinear'd outputs — which ONNX Runtime fuses into int8 kernels (LSTMs run
/// in float there: ONNX has no int8 LSTM). UnsupportedError names every node it cannot
/// express.
void export_onnx(const Graph& g, const std::string& path, const OnnxExportOptions& opts = {});

}  // namespace mq::serialization
