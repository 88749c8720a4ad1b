#include "engine/calibration/source.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "importers/onnx/import.h"
#include "kernels/fp32/shape.h"
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

namespace {

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
  fail<InvalidArgument>(path, ": array for input '", input, "' is ", dtype_name(t.dtype()),
                        " but the model expects ", dtype_name(want));
}

/// A contiguous copy of the view of `t` with `dims`, source strides `strides` (elements per
/// dim) and first element `offset`.
Tensor strided(const Tensor& t, std::vector<int64_t> dims, const std::vector<int64_t>& strides, int64_t offset) {
  if (dims.size() > size_t(kernels::kMaxCopyRank))
    fail<UnsupportedError>("calibration array of rank ", dims.size(), " is above the supported ",
                           kernels::kMaxCopyRank);
  Tensor o(t.dtype(), std::move(dims));
  if (o.numel() > 0)
    kernels::strided_copy(t.raw(), o.raw(),
                          {int(o.rank()), o.dims().data(), strides.data(), offset, dtype_size(t.dtype())});
  o.set_quant(t.quant());
  return o;
}

/// `t` with axis `from` moved to position `to` (a copy unless they are the same).
Tensor move_axis(const Tensor& t, size_t from, size_t to) {
  if (from == to) return t;
  std::vector<int64_t> dims = t.dims(), strides = contiguous_strides(t.dims());
  const int64_t d = dims[from], s = strides[from];
  dims.erase(dims.begin() + std::ptrdiff_t(from));
  strides.erase(strides.begin() + std::ptrdiff_t(from));
  dims.insert(dims.begin() + std::ptrdiff_t(to), d);
  strides.insert(strides.begin() + std::ptrdiff_t(to), s);
  return strided(t, std::move(dims), strides, 0);
}

/// Rows [begin, end) of `t` along `axis` (shares storage when every dim before it is 1).
Tensor slice_axis(const Tensor& t, size_t axis, int64_t begin, int64_t end) {
  std::vector<int64_t> dims = t.dims();
  if (begin == 0 && end == dims[axis]) return t;
  const std::vector<int64_t> strides = contiguous_strides(dims);
  dims[axis] = end - begin;
  if (std::all_of(t.dims().begin(), t.dims().begin() + std::ptrdiff_t(axis), [](int64_t d) { return d == 1; })) {
    Tensor v(t.dtype(), dims, t.storage(), t.offset() + size_t(begin * strides[axis]) * dtype_size(t.dtype()));
    v.set_quant(t.quant());
    return v;
  }
  return strided(t, std::move(dims), strides, begin * strides[axis]);
}

/// Rows from `begin` of a tensor stacked along dim 0, as a tensor of `dims` (no copy).
Tensor rows_as(const Tensor& stacked, int64_t begin, std::vector<int64_t> dims) {
  const size_t row_bytes = stacked.dim(0) ? stacked.nbytes() / size_t(stacked.dim(0)) : 0;
  return Tensor(stacked.dtype(), std::move(dims), stacked.storage(), stacked.offset() + size_t(begin) * row_bytes);
}

}  // namespace

std::optional<size_t> batch_axis(const Value& input) {
  const Shape& s = input.shape();
  if (!s.has_rank()) return std::nullopt;
  for (size_t d = 0; d < s.rank(); ++d) {
    std::string sym = s[d].symbol;
    for (auto& c : sym) c = char(std::tolower(static_cast<unsigned char>(c)));
    if (!s[d].is_static() && sym.find("batch") != std::string::npos) return d;
  }
  if (s.rank() > 0 && !s[0].is_static()) return 0;
  return std::nullopt;
}

int64_t batch_rows(const Graph& model, const TensorMap& batch) {
  for (Value* v : model.inputs()) {
    auto axis = batch_axis(*v);
    auto it = batch.find(v->name());
    if (axis && it != batch.end() && *axis < it->second.rank()) return it->second.dim(*axis);
  }
  return batch.empty() ? 0 : 1;
}

TensorMap slice_batch(const Graph& model, const TensorMap& batch, int64_t begin, int64_t end) {
  TensorMap out = batch;
  for (Value* v : model.inputs()) {
    auto axis = batch_axis(*v);
    auto it = out.find(v->name());
    if (!axis || it == out.end() || *axis >= it->second.rank()) continue;
    if (end > it->second.dim(*axis))
      fail<InvalidArgument>("input '", v->name(), "': samples [", begin, ", ", end, ") of a batch of ",
                            it->second.dim(*axis));
    it->second = slice_axis(it->second, *axis, begin, end);
  }
  return out;
}

std::vector<TensorMap> collect_batches(const Graph& model, CalibrationSource& source, int64_t max_samples) {
  std::vector<TensorMap> out;
  int64_t rows = 0;
  while (max_samples <= 0 || rows < max_samples) {
    auto b = source.next();
    if (!b) break;
    const int64_t r = batch_rows(model, *b);
    if (max_samples > 0 && rows + r > max_samples) {
      out.push_back(slice_batch(model, *b, 0, max_samples - rows));
      break;
    }
    rows += r;
    out.push_back(std::move(*b));
  }
  return out;
}

std::optional<TensorMap> RangeSource::next() {
  while (pos_ < end_) {
    auto b = inner_.next();
    if (!b) return std::nullopt;
    const int64_t rows = batch_rows(model_, *b);
    const int64_t lo = pos_, hi = pos_ + rows;
    pos_ = hi;
    if (hi <= begin_) continue;
    const int64_t from = std::max(lo, begin_) - lo, to = std::min(hi, end_) - lo;
    if (from == 0 && to == rows) return b;
    return slice_batch(model_, *b, from, to);
  }
  return std::nullopt;
}

void RangeSource::rewind() {
  inner_.rewind();
  pos_ = 0;
}

StateLink parse_state_link(const std::string& text) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size() || text.find('=', eq + 1) != std::string::npos)
    fail<InvalidArgument>("state link '", text, "': expected OUTPUT=INPUT (a model output fed back as an input)");
  return {text.substr(0, eq), text.substr(eq + 1)};
}

StateFeed::StateFeed(const Graph& model, std::vector<StateLink> links) : links_(std::move(links)) {
  std::set<std::string> inputs;
  for (const auto& l : links_) {
    const Value* out = nullptr;
    const Value* in = nullptr;
    for (Value* v : model.outputs())
      if (v->name() == l.output) out = v;
    for (Value* v : model.inputs())
      if (v->name() == l.input) in = v;
    if (!out)
      fail<InvalidArgument>("state link ", l.output, "=", l.input, ": the model has no output '", l.output, "'");
    if (!in)
      fail<InvalidArgument>("state link ", l.output, "=", l.input, ": the model has no input '", l.input, "'");
    if (!inputs.insert(l.input).second)
      fail<InvalidArgument>("state link ", l.output, "=", l.input, ": input '", l.input, "' is fed twice");
    if (out->dtype() != in->dtype())
      fail<InvalidArgument>("state link ", l.output, "=", l.input, ": output '", l.output, "' is ",
                            dtype_name(out->dtype()), " but input '", l.input, "' is ", dtype_name(in->dtype()));
    shapes_[l.input] = in->shape().str();
    if (in->shape().has_rank() && in->shape().is_static())
      zeros_[l.input] = Tensor(in->dtype(), in->shape().values());
  }
}

TensorMap StateFeed::apply(const TensorMap& batch) const {
  TensorMap out = batch;
  for (const auto& l : links_) {
    auto s = state_.find(l.input);
    if (s != state_.end()) {
      auto b = batch.find(l.input);
      if (b != batch.end() && b->second.dims() != s->second.dims())
        fail<InvalidArgument>("state output '", l.output, "' has shape ", s->second.shape().str(), " but input '",
                              l.input, "' of the next batch has ", b->second.shape().str(),
                              " (a stateful model is fed one sample per run)");
      out[l.input] = s->second;
    } else if (!batch.count(l.input)) {
      auto z = zeros_.find(l.input);
      if (z == zeros_.end())
        fail<InvalidArgument>("state input '", l.input, "' has no value for the first sample and its shape ",
                              shapes_.at(l.input), " is not static: give its initial value in the data");
      out[l.input] = z->second;
    }
  }
  return out;
}

void StateFeed::update(const TensorMap& outputs) {
  for (const auto& l : links_) {
    auto it = outputs.find(l.output);
    if (it == outputs.end()) fail<InvalidArgument>("state output '", l.output, "' was not computed");
    state_[l.input] = it->second.clone();
  }
}

FileSource::FileSource(const Graph& model, std::vector<std::string> paths, FileSourceOptions options)
    : options_(std::move(options)) {
  bool all_batched = true;
  for (Value* v : model.inputs()) {
    Input in{v->name(), v->dtype(), v->shape(), batch_axis(*v)};
    in.optional = std::find(options_.optional_inputs.begin(), options_.optional_inputs.end(), v->name()) !=
                  options_.optional_inputs.end();
    all_batched = all_batched && in.batch_axis.has_value();
    inputs_.push_back(std::move(in));
  }
  batch_ = all_batched ? std::max<int64_t>(1, options_.batch_size) : 1;
  if (paths.empty()) fail<InvalidArgument>("no calibration files given");
  auto is_data = [](const fs::path& k) {
    const std::string e = serialization::file_extension(k.string());
    return e == ".npy" || e == ".npz" || e == ".pb" || e == ".safetensors";
  };
  for (auto& p : paths) {
    fs::path path(p);
    if (!fs::exists(path)) fail<IoError>(p, ": no such file or folder");
    if (!fs::is_directory(path)) {
      files_.push_back(read_entry(path.string()));
      continue;
    }
    if (fs::exists(path / "input_0.pb")) {
      files_.push_back(read_entry(path.string()));
      continue;
    }
    // a folder per input: <path>/<input name>/ holding one file per sample
    bool per_input = !inputs_.empty();
    for (const auto& in : inputs_) per_input = per_input && (in.optional || fs::is_directory(path / in.name));
    if (per_input) {
      std::map<std::string, std::vector<fs::path>> files;
      size_t count = 0;
      std::string first;
      for (const auto& in : inputs_) {
        if (!fs::is_directory(path / in.name)) continue;
        auto& list = files[in.name];
        for (auto& e : fs::directory_iterator(path / in.name))
          if (!fs::is_directory(e.path()) && is_data(e.path())) list.push_back(e.path());
        std::sort(list.begin(), list.end());
        if (first.empty()) first = in.name, count = list.size();
        if (list.size() != count)
          fail<InvalidArgument>(path.string(), ": folder '", in.name, "' holds ", list.size(),
                                " files but folder '", first, "' holds ", count,
                                " (one file per sample in each input's folder)");
      }
      for (size_t i = 0; i < count; ++i) {
        std::map<std::string, std::string> sample;
        for (auto& [name, list] : files) sample[name] = list[i].string();
        files_.push_back(read_entry(path.string(), sample));
      }
      continue;
    }
    std::vector<fs::path> kids;
    for (auto& e : fs::directory_iterator(path)) kids.push_back(e.path());
    std::sort(kids.begin(), kids.end());
    for (auto& k : kids)
      if (fs::is_directory(k) ? fs::exists(k / "input_0.pb") : is_data(k))
        files_.push_back(read_entry(k.string()));
  }
  if (files_.empty())
    fail<InvalidArgument>("no calibration samples (.npy, .npz, .pb, .safetensors) found in the given paths");
  for (auto& f : files_) total_samples_ += f.samples;
  if (total_samples_ == 0) fail<InvalidArgument>("the calibration files hold no samples");
}

FileSource::Entry FileSource::read_entry(const std::string& path,
                                         const std::map<std::string, std::string>& per_input) const {
  auto read_file = [](const fs::path& p) -> std::map<std::string, Tensor> {
    const std::string e = serialization::file_extension(p.string());
    if (e == ".npy") return {{"0", serialization::load_npy(p.string())}};
    if (e == ".npz") return serialization::load_npz(p.string());
    if (e == ".safetensors") return serialization::load_safetensors(p.string()).tensors;
    if (e == ".pb") return {{"0", onnx::read_tensor_file(p.string())}};
    fail<InvalidArgument>(p.string(), ": unknown calibration file type '", e,
                          "' (expected .npy, .npz, .pb, .safetensors)");
  };
  if (!per_input.empty()) {
    // one file per input: its single array
    std::map<std::string, Tensor> arrays;
    for (const auto& [name, file] : per_input) {
      auto a = read_file(file);
      if (a.size() != 1)
        fail<InvalidArgument>(file, ": holds ", a.size(), " arrays; a file in the folder of input '", name,
                              "' holds one");
      arrays[name] = a.begin()->second;
    }
    return stack(path, std::move(arrays), false);
  }
  fs::path p(path);
  if (fs::is_directory(p)) {
    std::map<std::string, Tensor> arrays;
    for (size_t i = 0;; ++i) {
      fs::path f = p / ("input_" + std::to_string(i) + ".pb");
      if (!fs::exists(f)) break;
      arrays[std::to_string(i)] = onnx::read_tensor_file(f.string());
    }
    return stack(path, std::move(arrays), true);
  }
  const std::string e = serialization::file_extension(p.string());
  const bool ordered = e == ".npy" || e == ".pb";
  return stack(path, read_file(p), ordered);
}

FileSource::Entry FileSource::stack(const std::string& path, std::map<std::string, Tensor> arrays,
                                    bool ordered) const {
  Entry entry;
  std::string counted;  // the input that set entry.samples
  for (size_t i = 0; i < inputs_.size(); ++i) {
    const auto& in = inputs_[i];
    const Tensor* t = nullptr;
    std::string array_name;
    if (ordered) {
      auto it = arrays.find(std::to_string(i));
      if (it != arrays.end()) t = &it->second, array_name = path;
    } else {
      auto it = arrays.find(in.name);
      if (it != arrays.end()) t = &it->second, array_name = in.name;
      else if (inputs_.size() == 1 && arrays.size() == 1)
        t = &arrays.begin()->second, array_name = arrays.begin()->first;
    }
    if (!t) {
      if (in.optional) continue;
      fail<InvalidArgument>(path, ": no array for model input '", in.name, "'");
    }
    Tensor v = to_dtype(*t, in.dtype, path, in.name);
    auto mismatch = [&]() {
      fail<InvalidArgument>(path, ": array '", array_name, "' for input '", in.name, "' has shape ",
                            v.shape().str(), ", the model expects ", in.shape.str(),
                            in.batch_axis
                                ? " (samples stacked along its batch axis " + std::to_string(*in.batch_axis) + ")"
                                : " (whole per sample, or stacked along a new leading axis)");
    };
    // does `dims` (one sample, model rank) agree with the input's static dims, except `skip`?
    auto agrees = [&](const std::vector<int64_t>& dims, std::optional<size_t> skip) {
      if (!in.shape.has_rank()) return true;
      if (dims.size() != in.shape.rank()) return false;
      for (size_t d = 0; d < dims.size(); ++d)
        if ((!skip || d != *skip) && in.shape[d].is_static() && in.shape[d].value != dims[d]) return false;
      return true;
    };
    const size_t rank = in.shape.has_rank() ? in.shape.rank() : v.rank();
    Tensor stacked;
    if (in.batch_axis) {
      const size_t a = *in.batch_axis;
      std::vector<int64_t> dims = v.dims();
      if (dims.size() + 1 == rank) dims.insert(dims.begin() + std::ptrdiff_t(a), 1);  // one sample, no batch axis
      else if (dims.size() == rank + 1 && a == 0)
        dims = [&] {  // [k, m, ...]: k·m samples
          std::vector<int64_t> d(dims.begin() + 1, dims.end());
          d[0] *= dims[0];
          return d;
        }();
      if (!agrees(dims, a)) mismatch();
      Tensor front = move_axis(v.reshaped(dims), a, 0);  // [n, dims without a...]
      std::vector<int64_t> sd = front.dims();
      sd.insert(sd.begin() + 1 + std::ptrdiff_t(a), 1);  // [n, one sample's dims (batch axis 1)...]
      stacked = front.reshaped(sd);
    } else {
      std::vector<int64_t> dims = v.dims();
      if (agrees(dims, std::nullopt)) {
        dims.insert(dims.begin(), 1);
      } else if (dims.size() + 1 == rank && in.shape[0].is_static() && in.shape[0].value == 1 && [&] {
                   std::vector<int64_t> one = dims;
                   one.insert(one.begin(), 1);
                   return agrees(one, std::nullopt);
                 }()) {
        dims.insert(dims.begin(), 1);  // one sample without the static batch dim of 1
        dims.insert(dims.begin(), 1);
      } else if (dims.size() == rank + 1 && agrees({dims.begin() + 1, dims.end()}, std::nullopt)) {
        // stacked along a new leading axis
      } else if (dims.size() == rank && rank > 0 && in.shape[0].is_static() && in.shape[0].value > 0 &&
                 dims[0] % in.shape[0].value == 0 && [&] {
                   std::vector<int64_t> one = dims;
                   one[0] = in.shape[0].value;
                   return agrees(one, std::nullopt);
                 }()) {
        // stacked along the static leading dim
        dims[0] = in.shape[0].value;
        dims.insert(dims.begin(), v.dim(0) / in.shape[0].value);
      } else {
        mismatch();
      }
      stacked = v.reshaped(dims);
    }
    const int64_t n = stacked.dim(0);
    if (n != 1 || in.batch_axis) {
      if (!counted.empty() && n != entry.samples)
        fail<InvalidArgument>(path, ": array '", array_name, "' for input '", in.name, "' has shape ",
                              v.shape().str(), ", ", n, " samples, but input '", counted, "' has ", entry.samples,
                              " (each input holds the same number of samples, or one for all)");
      if (counted.empty()) counted = in.name, entry.samples = n;
    }
    entry.stacked[in.name] = std::move(stacked);
  }
  if (counted.empty() && !entry.stacked.empty()) entry.samples = 1;
  return entry;
}

std::optional<TensorMap> FileSource::next() {
  while (file_ < files_.size()) {
    const Entry& f = files_[file_];
    if (row_ >= f.samples) {
      ++file_;
      row_ = 0;
      continue;
    }
    const int64_t bs = std::min(batch_, f.samples - row_);
    TensorMap batch;
    for (const auto& in : inputs_) {
      auto it = f.stacked.find(in.name);
      if (it == f.stacked.end()) continue;  // an optional input the file lacks
      const Tensor& s = it->second;
      std::vector<int64_t> one(s.dims().begin() + 1, s.dims().end());
      if (!in.batch_axis) {
        batch[in.name] = rows_as(s, s.dim(0) == 1 ? 0 : row_, one);  // given once: used for every sample
      } else if (*in.batch_axis == 0) {
        one[0] *= bs;
        batch[in.name] = rows_as(s, row_, one);
      } else {
        // samples along an inner axis: [bs, one sample's dims without it], axis 0 moved there
        const size_t a = *in.batch_axis;
        one.erase(one.begin() + std::ptrdiff_t(a));
        one.insert(one.begin(), bs);
        batch[in.name] = move_axis(rows_as(s, row_, one), 0, a);
      }
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
