#include "engine/calibration/source.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "importers/onnx/import.h"
#include "serialization/npy.h"
#include "serialization/safetensors.h"

namespace mq {

namespace fs = std::filesystem;

std::optional<TensorMap> TensorListSource::next() {
  if (pos_ >= batches_.size()) return std::nullopt;
  return batches_[pos_++];
}

std::optional<TensorMap> CallbackSource::next() {
  if (replaying_) {
    if (replay_ >= cache_.size()) return std::nullopt;
    return cache_[replay_++];
  }
  auto b = next_();
  if (b && !rewind_) cache_.push_back(*b);
  return b;
}

void CallbackSource::rewind() {
  if (rewind_) {
    rewind_();
  } else {
    replaying_ = true;
    replay_ = 0;
  }
}

int64_t batch_rows(const TensorMap& batch) {
  if (batch.empty()) return 0;
  const Tensor& t = batch.begin()->second;
  return t.rank() ? t.dim(0) : 1;
}

std::vector<TensorMap> collect_batches(CalibrationSource& source, int64_t max_samples) {
  std::vector<TensorMap> out;
  int64_t rows = 0;
  while (max_samples <= 0 || rows < max_samples) {
    auto b = source.next();
    if (!b) break;
    int64_t r = batch_rows(*b);
    if (max_samples > 0 && rows + r > max_samples) {
      // cut the batch to the limit when it stacks samples along dim 0
      int64_t keep = max_samples - rows;
      TensorMap cut;
      for (auto& [name, t] : *b) {
        if (t.rank() == 0 || t.dim(0) != r) {
          cut[name] = t;
          continue;
        }
        auto dims = t.dims();
        dims[0] = keep;
        Tensor c(t.dtype(), dims);
        std::memcpy(c.raw(), t.raw(), c.nbytes());
        cut[name] = c;
      }
      out.push_back(std::move(cut));
      rows = max_samples;
      break;
    }
    rows += r;
    out.push_back(std::move(*b));
  }
  return out;
}

namespace {
std::string lower_ext(const fs::path& p) {
  std::string e = p.extension().string();
  for (auto& ch : e) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  return e;
}

Tensor to_dtype(const Tensor& t, DType want, const std::string& path, const std::string& input) {
  if (t.dtype() == want) return t;
  if (want == DType::f32 && (t.dtype() == DType::f64 || t.dtype() == DType::f16)) {
    if (t.dtype() == DType::f16) fail<UnsupportedError>(path, ": f16 arrays are not supported");
    Tensor o(DType::f32, t.dims());
    const double* s = t.data<double>();
    float* d = o.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) d[i] = float(s[i]);
    return o;
  }
  fail<InvalidArgument>(path, ": array for input '", input, "' is ", dtype_name(t.dtype()), " but the model expects ",
                        dtype_name(want));
}
}  // namespace

FileSource::FileSource(const Graph& model, std::vector<std::string> paths, FileSourceOptions options)
    : options_(options) {
  for (Value* v : model.inputs()) inputs_.push_back({v->name(), v->dtype(), v->shape()});
  if (paths.empty()) fail<InvalidArgument>("no calibration files given");
  std::vector<std::string> entries;
  for (auto& p : paths) {
    fs::path path(p);
    if (!fs::exists(path)) fail<IoError>(p, ": no such file or folder");
    if (fs::is_directory(path)) {
      std::vector<fs::path> kids;
      bool has_pb_inputs = fs::exists(path / "input_0.pb");
      if (has_pb_inputs) {
        entries.push_back(path.string());
        continue;
      }
      for (auto& e : fs::directory_iterator(path)) kids.push_back(e.path());
      std::sort(kids.begin(), kids.end());
      for (auto& k : kids) {
        std::string e = lower_ext(k);
        if (fs::is_directory(k) ? fs::exists(k / "input_0.pb") : (e == ".npy" || e == ".npz" || e == ".pb" || e == ".safetensors"))
          entries.push_back(k.string());
      }
    } else {
      entries.push_back(path.string());
    }
  }
  if (entries.empty()) fail<InvalidArgument>("no calibration samples (.npy, .npz, .pb, .safetensors) found in the given paths");
  for (auto& e : entries) {
    TensorMap m = read_entry(e);
    int64_t rows = batch_rows(m);
    total_samples_ += rows;
    files_.push_back(std::move(m));
  }
  if (total_samples_ == 0) fail<InvalidArgument>("the calibration files hold no samples");
}

TensorMap FileSource::read_entry(const std::string& path) const {
  fs::path p(path);
  std::map<std::string, Tensor> arrays;
  bool ordered = false;  // arrays keyed by input index rather than name
  if (fs::is_directory(p)) {
    for (size_t i = 0;; ++i) {
      fs::path f = p / ("input_" + std::to_string(i) + ".pb");
      if (!fs::exists(f)) break;
      arrays[std::to_string(i)] = onnx::read_tensor_file(f.string());
    }
    ordered = true;
  } else {
    std::string e = lower_ext(p);
    if (e == ".npy") {
      arrays["0"] = serialization::load_npy(path);
      ordered = true;
    } else if (e == ".npz") {
      arrays = serialization::load_npz(path);
    } else if (e == ".safetensors") {
      arrays = serialization::load_safetensors(path).tensors;
    } else if (e == ".pb") {
      arrays["0"] = onnx::read_tensor_file(path);
      ordered = true;
    } else {
      fail<InvalidArgument>(path, ": unknown calibration file type '", e, "' (expected .npy, .npz, .pb, .safetensors)");
    }
  }
  TensorMap out;
  for (size_t i = 0; i < inputs_.size(); ++i) {
    const auto& in = inputs_[i];
    const Tensor* t = nullptr;
    if (ordered) {
      auto it = arrays.find(std::to_string(i));
      if (it != arrays.end()) t = &it->second;
    } else {
      auto it = arrays.find(in.name);
      if (it != arrays.end()) t = &it->second;
      else if (inputs_.size() == 1 && arrays.size() == 1) t = &arrays.begin()->second;
    }
    if (!t) fail<InvalidArgument>(path, ": no array for model input '", in.name, "'");
    Tensor v = to_dtype(*t, in.dtype, path, in.name);
    // a single sample without the batch dim: add it
    if (in.shape.has_rank() && v.rank() + 1 == in.shape.rank()) {
      auto dims = v.dims();
      dims.insert(dims.begin(), 1);
      v = v.reshaped(dims);
    }
    if (in.shape.has_rank() && v.rank() != in.shape.rank())
      fail<InvalidArgument>(path, ": array for input '", in.name, "' has shape ", v.shape().str(),
                            ", the model expects ", in.shape.str());
    for (size_t d = 1; d < v.rank() && in.shape.has_rank(); ++d)
      if (in.shape[d].is_static() && in.shape[d].value != v.dim(d))
        fail<InvalidArgument>(path, ": array for input '", in.name, "' has shape ", v.shape().str(),
                              ", the model expects ", in.shape.str());
    out[in.name] = v;
  }
  return out;
}

std::optional<TensorMap> FileSource::next() {
  while (file_ < files_.size()) {
    const TensorMap& f = files_[file_];
    int64_t rows = batch_rows(f);
    if (row_ >= rows) {
      ++file_;
      row_ = 0;
      continue;
    }
    // batch size: the model's static batch dim if it has one, else the option
    int64_t bs = options_.batch_size;
    if (!inputs_.empty() && inputs_[0].shape.has_rank() && inputs_[0].shape.rank() > 0 &&
        inputs_[0].shape[0].is_static())
      bs = inputs_[0].shape[0].value;
    bs = std::max<int64_t>(1, std::min(bs, rows - row_));
    TensorMap batch;
    for (auto& [name, t] : f) {
      auto dims = t.dims();
      int64_t row_bytes = int64_t(t.nbytes()) / std::max<int64_t>(1, dims[0]);
      dims[0] = bs;
      batch[name] = Tensor(t.dtype(), dims, t.storage(), t.offset() + size_t(row_ * row_bytes));
    }
    row_ += bs;
    return batch;
  }
  return std::nullopt;
}

void FileSource::rewind() {
  file_ = 0;
  row_ = 0;
}

}  // namespace mq
