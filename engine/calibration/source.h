#pragma once
/// Where calibration samples come from: an in-memory list, a user callback (the C++
/// counterpart of a DataLoader) or files (.npy, .npz, ONNX TensorProto .pb, .safetensors).
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/session.h"

namespace mq {

/// Yields batches of named model inputs until exhausted.
class CalibrationSource {
 public:
  virtual ~CalibrationSource() = default;
  /// The next batch, or none when there are no more.
  virtual std::optional<TensorMap> next() = 0;
  /// Starts again from the first batch (validation reuses held-back samples).
  virtual void rewind() = 0;
};

/// Batches held in memory.
class TensorListSource : public CalibrationSource {
 public:
  explicit TensorListSource(std::vector<TensorMap> batches) : batches_(std::move(batches)) {}
  std::optional<TensorMap> next() override;
  void rewind() override { pos_ = 0; }

 private:
  std::vector<TensorMap> batches_;
  size_t pos_ = 0;
};

/// Batches produced by a callback; `rewind` is called to start over (may be empty if the
/// data cannot be replayed: then the source is read once and cached).
class CallbackSource : public CalibrationSource {
 public:
  using Next = std::function<std::optional<TensorMap>()>;
  explicit CallbackSource(Next next, std::function<void()> rewind = {})
      : next_(std::move(next)), rewind_(std::move(rewind)) {}
  std::optional<TensorMap> next() override;
  void rewind() override;

 private:
  Next next_;
  std::function<void()> rewind_;
  std::vector<TensorMap> cache_;
  size_t replay_ = 0;
  bool replaying_ = false;
};

/// How FileSource turns arrays into batches.
struct FileSourceOptions {
  /// Batch size used when the model's batch dimension is symbolic (a static batch dim of the
  /// model input always wins).
  int64_t batch_size = 16;
};

/// Samples read from files or folders. Each file holds arrays for the model inputs: an .npy
/// (for a model with one input), an .npz or .safetensors (arrays named after the inputs; a
/// single array for a single-input model), or ONNX TensorProto .pb files (a folder with
/// input_0.pb, input_1.pb, ... per sample, as in ONNX test data sets, or a single .pb).
/// Arrays may stack many samples along dim 0; they are cut into batches matching the
/// model's input shape. f64 arrays are converted for f32 inputs.
class FileSource : public CalibrationSource {
 public:
  /// `paths` are files or folders (a folder's files are read in name order, subfolders
  /// holding input_*.pb count as one sample each). Throws naming the path when a file is
  /// unreadable or matches no model input.
  FileSource(const Graph& model, std::vector<std::string> paths, FileSourceOptions options = {});
  std::optional<TensorMap> next() override;
  void rewind() override;
  /// Total number of samples (rows along dim 0) across all files.
  int64_t sample_count() const { return total_samples_; }

 private:
  struct Input {
    std::string name;
    DType dtype;
    Shape shape;
  };
  std::vector<Input> inputs_;
  std::vector<TensorMap> files_;  // arrays of each file (or sample folder), by input name
  FileSourceOptions options_;
  size_t file_ = 0;
  int64_t row_ = 0;
  int64_t total_samples_ = 0;
  TensorMap read_entry(const std::string& path) const;
};

/// Reads every batch of `source` into memory, up to `max_samples` rows (0 = all).
std::vector<TensorMap> collect_batches(CalibrationSource& source, int64_t max_samples = 0);

/// Rows along dim 0 of a batch (the first input's).
int64_t batch_rows(const TensorMap& batch);

}  // namespace mq
