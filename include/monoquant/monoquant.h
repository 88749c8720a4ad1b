#pragma once
/// monoquant's public C++ API (C++17): load a model, run it, calibrate, quantize, save.
///
///   #include <monoquant/monoquant.h>
///
///   mq::Model m = mq::Model::load("model.onnx");
///   mq::DataSource calib = mq::DataSource::files(m, {"calib/"});
///   mq::Calibration cal = mq::calibrate(m, calib);
///   mq::QuantizeResult q = mq::static_quantize(m, cal, {}, &calib);
///   std::cout << q.report.table();
///   q.model.save("model.int8.mqm");
///
///   mq::Session s(q.model, {/*threads=*/2});
///   std::vector<float> x(1 * 1 * 28 * 28);
///   mq::TensorMap out = s.run({{"input", mq::Tensor::view<float>({1, 1, 28, 28}, x.data())}});
///
/// The types live in namespace `monoquant`; `mq` is an alias of it. Every failure throws
/// mq::Error. Nothing here exposes monoquant's internal graph or engine types.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "monoquant/error.h"
#include "monoquant/export.h"
#include "monoquant/options.h"
#include "monoquant/report.h"
#include "monoquant/tensor.h"
#include "monoquant/version.h"

namespace monoquant {

/// The library's version ("MAJOR.MINOR.PATCH"), to compare with MONOQUANT_VERSION_STRING.
MONOQUANT_API const char* version();

/// A loaded model (float or quantized). Copies share the same immutable model.
class MONOQUANT_API Model {
 public:
  /// Loads a model; the format comes from the extension (.onnx, .mqm, .safetensors, .pt,
  /// .pth). Errors name the file.
  static Model load(const std::string& path, const LoadOptions& options = {});
  /// Saves the model; the format comes from the extension (.mqm, .safetensors, .pt, .pth,
  /// .onnx as QDQ). Atomic: no partial file is ever left behind.
  void save(const std::string& path) const;

  std::vector<TensorInfo> inputs() const;
  std::vector<TensorInfo> outputs() const;
  /// Number of nodes in the graph.
  int64_t node_count() const;
  /// Number of nodes per op name ("Conv2d" → 2, "QLinear" → 1, ...).
  std::map<std::string, int64_t> op_counts() const;
  /// An fp32 model whose weights are the dequantized int8 weights.
  Model dequantized() const;

  struct Impl;  ///< opaque
  explicit Model(std::shared_ptr<const Impl> impl);
  const Impl& impl() const { return *impl_; }

 private:
  std::shared_ptr<const Impl> impl_;
};

/// An executable instance of a model: build once, run many times; run() may be called from
/// several threads at once.
class MONOQUANT_API Session {
 public:
  /// Throws Error (kind unsupported) naming every node the engine cannot run.
  explicit Session(const Model& model, const SessionOptions& options = {});
  ~Session();
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;

  /// Runs with named inputs (views are read in place, not copied); returns every model
  /// output by name. The returned tensors hold the engine's own buffers (no copy).
  TensorMap run(const TensorMap& inputs);
  /// Same, writing each output into the caller's tensor of that name in `outputs` (views
  /// over caller memory are filled in place; their dtype and dims must match; outputs not
  /// named in `outputs` are added to it).
  void run(const TensorMap& inputs, TensorMap& outputs);

  std::vector<TensorInfo> inputs() const;
  std::vector<TensorInfo> outputs() const;
  int threads() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Where calibration and validation samples come from: tensors in memory, a callback or
/// files (.npy, .npz, ONNX TensorProto .pb, .safetensors).
class MONOQUANT_API DataSource {
 public:
  /// Batches held in memory.
  static DataSource tensors(std::vector<TensorMap> batches);
  /// Batches made by `next` until it returns none; `rewind` starts over (without one the
  /// batches are cached on the first pass so that validation can replay them).
  static DataSource callback(std::function<std::optional<TensorMap>()> next, std::function<void()> rewind = {});
  /// Samples read from files or folders, `batch_size` samples per batch (see
  /// `monoquant quantize --calib` for the layouts understood).
  static DataSource files(const Model& model, std::vector<std::string> paths, int64_t batch_size = 16);

  ~DataSource();
  DataSource(DataSource&&) noexcept;
  DataSource& operator=(DataSource&&) noexcept;
  /// The next batch, or none at the end.
  std::optional<TensorMap> next();
  /// Back to the first batch.
  void rewind();

  struct Impl;  ///< opaque
  Impl& impl() { return *impl_; }

 private:
  explicit DataSource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// The observed ranges of the values calibration watched.
class MONOQUANT_API Calibration {
 public:
  ~Calibration();
  Calibration(Calibration&&) noexcept;
  Calibration& operator=(Calibration&&) noexcept;

  int64_t samples() const;
  /// The names of the observed values.
  std::vector<std::string> values() const;
  /// Saves / loads the calibration (a JSON table): calibrate once, quantize many times.
  void save(const std::string& path) const;
  static Calibration load(const std::string& path);

  struct Impl;  ///< opaque
  explicit Calibration(std::unique_ptr<Impl> impl);
  const Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

/// Runs the float model over `data`, observing what quantization needs. Throws
/// (invalid_argument) when `data` yields no samples.
MONOQUANT_API Calibration calibrate(const Model& model, DataSource& data, const CalibrationOptions& options = {});
/// Same from batches in memory.
MONOQUANT_API Calibration calibrate(const Model& model, const std::vector<TensorMap>& batches,
                                    const CalibrationOptions& options = {});

/// A quantized model and its report.
struct QuantizeResult {
  Model model;
  Report report;
};

/// Rewrites the selected layers into int8 ops with the calibrated activation ranges and
/// validates on `validation` (SQNR checks are skipped without it). Throws (kind validation)
/// when a check fails and options.on_failure is error.
MONOQUANT_API QuantizeResult static_quantize(const Model& model, const Calibration& calibration,
                                             const QuantizeOptions& options = {},
                                             DataSource* validation = nullptr);
/// Weights int8 ahead of time, activations quantized at run time (Linear, LSTM).
MONOQUANT_API QuantizeResult dynamic_quantize(const Model& model, const QuantizeOptions& options = {},
                                              DataSource* validation = nullptr);

}  // namespace monoquant

#ifndef MONOQUANT_NO_MQ_ALIAS
/// The short name used throughout monoquant's documentation.
namespace mq = monoquant;
#endif
