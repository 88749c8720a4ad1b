#pragma once
/// Where calibration samples come from: an in-memory list, a user callback (the C++
/// counterpart of a DataLoader) or files (.npy, .npz, ONNX TensorProto .pb, .safetensors).
#include <functional>
#include <map>
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
  /// Samples per batch for models whose inputs all have a batch axis (see batch_axis()); a
  /// model with an input that has none takes one sample per run.
  int64_t batch_size = 16;
  /// Inputs the files may lack: recurrent-state inputs that a StateFeed fills in.
  std::vector<std::string> optional_inputs;
};

/// Samples read from files or folders. A sample is one value per model input. A file holds
/// arrays for the inputs: an .npy (one-input model), an .npz or .safetensors (arrays named
/// after the inputs; a single array for a single-input model), or ONNX TensorProto .pb files
/// (a folder with input_0.pb, input_1.pb, ... per sample, as in ONNX test data sets, or a
/// single .pb). A folder holding one subfolder per model input (named after it) pairs the
/// files of those subfolders in name order, one sample per file.
/// Each array is read along its own input's batch axis (batch_axis()): an array of the
/// input's rank stacks samples along that axis, one of rank + 1 along a new leading axis,
/// one of rank − 1 is a single sample missing the batch axis. An input without a batch axis
/// takes its array whole per sample (or a stack of them along a new leading axis, or along a
/// static leading dim that the array's holds a multiple of). The inputs of a file must hold
/// the same number of samples (an input given once is used for every sample); any mismatch is
/// an error naming the file, the array, the expected and the actual shape. f64 arrays are
/// converted for f32 inputs.
class FileSource : public CalibrationSource {
 public:
  /// `paths` are files or folders (a folder's files are read in name order, subfolders
  /// holding input_*.pb count as one sample each). Throws naming the path when a file is
  /// unreadable or matches no model input.
  FileSource(const Graph& model, std::vector<std::string> paths, FileSourceOptions options = {});
  std::optional<TensorMap> next() override;
  void rewind() override;
  /// Total number of samples across all files.
  int64_t sample_count() const { return total_samples_; }

 private:
  struct Input {
    std::string name;
    DType dtype;
    Shape shape;
    std::optional<size_t> batch_axis;
    bool optional = false;
  };
  /// One file's (or sample folder's) samples: per input, a tensor stacking them along a new
  /// leading axis ([n, one sample's dims...]; n = 1 for an input given once).
  struct Entry {
    std::map<std::string, Tensor> stacked;
    int64_t samples = 0;
  };
  std::vector<Input> inputs_;
  std::vector<Entry> files_;
  FileSourceOptions options_;
  int64_t batch_ = 1;
  size_t file_ = 0;
  int64_t row_ = 0;
  int64_t total_samples_ = 0;
  Entry read_entry(const std::string& path, const std::map<std::string, std::string>& per_input = {}) const;
  Entry stack(const std::string& path, std::map<std::string, Tensor> arrays, bool ordered) const;
};

/// The axis of a model input along which samples are batched: its symbolic dim whose name
/// contains "batch" (any case), else a symbolic dim 0. None when the input has no symbolic
/// dim there: its value is then whole for each sample (a recurrent state, a static-batch input).
std::optional<size_t> batch_axis(const Value& input);

/// Samples in a batch of `model` inputs: the size along its batch axis of the first input that
/// has one (1 when none has).
int64_t batch_rows(const Graph& model, const TensorMap& batch);

/// Samples [begin, end) of a batch: inputs with a batch axis sliced along it, the others whole.
TensorMap slice_batch(const Graph& model, const TensorMap& batch, int64_t begin, int64_t end);

/// Reads every batch of `source` into memory, up to `max_samples` samples (0 = all; the
/// last batch is sliced to the limit).
std::vector<TensorMap> collect_batches(const Graph& model, CalibrationSource& source, int64_t max_samples = 0);

/// Samples [begin, end) of another source, in order (batches sliced at the edges): how
/// calibration and validation share one data set.
class RangeSource : public CalibrationSource {
 public:
  RangeSource(const Graph& model, CalibrationSource& inner, int64_t begin, int64_t end)
      : model_(model), inner_(inner), begin_(begin), end_(end) {}
  std::optional<TensorMap> next() override;
  void rewind() override;

 private:
  const Graph& model_;
  CalibrationSource& inner_;
  int64_t begin_, end_;
  int64_t pos_ = 0;
};

/// A recurrent state carried from one run to the next: the model output `output` becomes
/// the input `input` of the following run.
struct StateLink {
  std::string output, input;
};

/// Parses "OUT=IN" (the CLI's --state); InvalidArgument otherwise.
StateLink parse_state_link(const std::string& text);

/// Feeds state outputs back as inputs over a sequence of runs, so that the calibration and
/// validation of a streaming model see the states it really meets. The first run takes each
/// state input from its batch, or zeros when the batch lacks it (the input's shape must then be
/// static); every later run takes the previous run's state output.
class StateFeed {
 public:
  /// Checks that each link names a model output and input of the same dtype.
  StateFeed(const Graph& model, std::vector<StateLink> links);
  /// `batch` with the state inputs filled in.
  TensorMap apply(const TensorMap& batch) const;
  /// Keeps the state outputs of the run just made (`outputs` as Session::run returns them).
  void update(const TensorMap& outputs);
  /// Back to the start of the sequence.
  void reset() { state_.clear(); }
  bool empty() const { return links_.empty(); }

 private:
  std::vector<StateLink> links_;
  std::map<std::string, Tensor> zeros_;  // initial value of each state input with a static shape
  std::map<std::string, std::string> shapes_;
  TensorMap state_;  // by input name
};

}  // namespace mq
