#include "tools/common.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "ir/error.h"

namespace fs = std::filesystem;

namespace mq::cli {

Globals& globals() {
  static Globals g;
  return g;
}

void note(const std::string& msg) {
  if (!globals().quiet) std::cerr << msg << '\n';
}
void detail(const std::string& msg) {
  if (globals().verbose && !globals().quiet) std::cerr << msg << '\n';
}
void warn(const std::string& msg) {
  if (!globals().quiet) std::cerr << "monoquant: warning: " << msg << '\n';
}

// ---- files ----

void require_extension(const std::string& path, const std::vector<std::string>& exts, const std::string& what) {
  std::string e = serialization::file_extension(path);
  if (std::find(exts.begin(), exts.end(), e) != exts.end()) return;
  std::string list;
  for (size_t i = 0; i < exts.size(); ++i) list += (i ? ", " : "") + exts[i];
  throw UsageError(path + ": unknown " + what + " format '" + e + "' (expected " + list + ")");
}

CLI::Option* add_threads_option(CLI::App* cmd, int& threads) {
  const int max = max_session_threads();
  return cmd->add_option("-t,--threads", threads, "Threads (0 = all cores, at most " + std::to_string(max) + ")")
      ->check(CLI::Range(0, max));
}

namespace {
bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) return fs::equivalent(a, b, ec);
  return fs::weakly_canonical(a, ec) == fs::weakly_canonical(b, ec);
}
}  // namespace

void check_output_path(const std::string& out, const std::vector<std::string>& inputs) {
  for (const auto& arg : inputs) {
    // an input may be given as NAME=FILE: the file is what must not be overwritten
    for (const std::string& in : {arg, arg.substr(arg.find('=') == std::string::npos ? 0 : arg.find('=') + 1)})
      if (!in.empty() && same_file(out, in))
        throw UsageError(out + ": the output would overwrite the input " + in);
  }
  std::error_code ec;
  if (fs::is_directory(out, ec)) fail<IoError>(out, ": is a folder, not a file");
  fs::path parent = fs::path(out).parent_path();
  if (parent.empty()) parent = ".";
  if (!fs::is_directory(parent, ec)) fail<IoError>(out, ": folder ", parent.string(), " does not exist");
  if (::access(parent.c_str(), W_OK) != 0) fail<IoError>(out, ": folder ", parent.string(), " is not writable");
  // access() says yes to root everywhere: try to create (and remove) a file beside the output
  std::string probe = (parent / (".monoquant-probe-" + std::to_string(::getpid()))).string();
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) fail<IoError>(out, ": cannot write in folder ", parent.string(), " (", std::strerror(errno), ")");
  ::close(fd);
  ::unlink(probe.c_str());
}

int64_t file_bytes(const std::string& path) {
  std::error_code ec;
  auto n = fs::file_size(path, ec);
  return ec ? 0 : int64_t(n);
}

// ---- arrays ----

namespace {
template <class T>
void convert_into(const Tensor& src, T* dst, double scale) {
  std::vector<float> v = src.to_float();
  for (size_t i = 0; i < v.size(); ++i) dst[i] = T(double(v[i]) * scale);
}
}  // namespace

Tensor prepare_array(const Tensor& t, const Value& in, double scale, const std::string& file) {
  Tensor v = t;
  DType want = in.dtype();
  if (want != DType::undefined && v.dtype() != want) {
    bool ok = (is_float(want) || is_integer(want)) && (is_float(v.dtype()) || is_integer(v.dtype()));
    if (!ok || want == DType::f16 || want == DType::bf16)
      fail<InvalidArgument>(file, ": array is ", dtype_name(v.dtype()), " but input '", in.name(), "' is ",
                            dtype_name(want));
    if (is_integer(want) && is_float(v.dtype()))
      fail<InvalidArgument>(file, ": array is ", dtype_name(v.dtype()), " but input '", in.name(), "' is ",
                            dtype_name(want), " (integer)");
    Tensor c(want, v.dims());
    double s = is_integer(v.dtype()) && is_float(want) ? scale : 1.0;
    switch (want) {
      case DType::f32: convert_into(v, c.data<float>(), s); break;
      case DType::f64: convert_into(v, c.data<double>(), s); break;
      case DType::i8: convert_into(v, c.data<int8_t>(), 1); break;
      case DType::u8: convert_into(v, c.data<uint8_t>(), 1); break;
      case DType::i32: convert_into(v, c.data<int32_t>(), 1); break;
      case DType::i64: {
        auto ints = v.to_int64();
        std::copy(ints.begin(), ints.end(), c.data<int64_t>());
        break;
      }
      default: fail<InvalidArgument>(file, ": cannot convert ", dtype_name(v.dtype()), " to ", dtype_name(want));
    }
    v = c;
  } else if (scale != 1.0 && is_float(v.dtype()) && v.dtype() == DType::f32) {
    Tensor c(DType::f32, v.dims());
    convert_into(v, c.data<float>(), scale);
    v = c;
  }
  const Shape& s = in.shape();
  if (!s.has_rank() || s.rank() == 0) return v;
  if (v.rank() + 1 == s.rank()) {  // one sample without the batch dim?
    bool same = true;
    for (size_t d = 0; d < v.rank(); ++d)
      if (s[d + 1].is_static() && s[d + 1].value != v.dim(d)) same = false;
    if (same) {
      auto dims = v.dims();
      dims.insert(dims.begin(), 1);
      v = v.reshaped(dims);
    }
  }
  // [N, ...] with the right number of elements per sample: reshape to the input's dims
  bool rest_static = true;
  int64_t per = 1;
  std::vector<int64_t> want_dims{v.rank() ? v.dim(0) : 1};
  for (size_t d = 1; d < s.rank(); ++d) {
    if (!s[d].is_static()) rest_static = false;
    per *= std::max<int64_t>(s[d].value, 1);
    want_dims.push_back(s[d].value);
  }
  if (v.rank() >= 1 && rest_static && v.rank() != s.rank() && v.dim(0) > 0 && v.numel() / v.dim(0) == per &&
      v.numel() % v.dim(0) == 0)
    v = v.reshaped(want_dims);
  if (v.rank() != s.rank())
    fail<InvalidArgument>(file, ": array of shape ", dims_str(v.dims()), " does not fit input '", in.name(),
                          "' of shape ", s.str());
  for (size_t d = 1; d < s.rank(); ++d)
    if (s[d].is_static() && s[d].value != v.dim(d))
      fail<InvalidArgument>(file, ": array of shape ", dims_str(v.dims()), " does not fit input '", in.name(),
                            "' of shape ", s.str());
  return v;
}

Tensor slice_rows(const Tensor& t, int64_t begin, int64_t end) {
  auto dims = t.dims();
  if (dims.empty() || (begin == 0 && end == dims[0])) return t;
  int64_t row_bytes = dims[0] ? int64_t(t.nbytes()) / dims[0] : 0;
  dims[0] = end - begin;
  Tensor s(t.dtype(), dims, t.storage(), t.offset() + size_t(begin * row_bytes));
  s.set_quant(t.quant());
  return s;
}

ArraySource::ArraySource(TensorMap arrays, int64_t batch)
    : arrays_(std::move(arrays)), batch_(std::max<int64_t>(1, batch)) {
  rows_ = -1;
  for (auto& [name, t] : arrays_) {
    int64_t r = t.rank() ? t.dim(0) : 1;
    if (rows_ >= 0 && r != rows_)
      fail<InvalidArgument>("input arrays hold different numbers of samples (", rows_, " and ", r, " for '", name,
                            "')");
    rows_ = r;
  }
  if (rows_ < 0) rows_ = 0;
}

std::optional<TensorMap> ArraySource::next() {
  if (row_ >= rows_) return std::nullopt;
  int64_t end = std::min(rows_, row_ + batch_);
  TensorMap b;
  for (auto& [name, t] : arrays_) b[name] = t.rank() ? slice_rows(t, row_, end) : t;
  row_ = end;
  return b;
}

std::vector<double> to_doubles(const Tensor& t) {
  std::vector<double> out(size_t(t.numel()));
  const auto& q = t.quant();
  if (q && (t.dtype() == DType::u8 || t.dtype() == DType::i8) && !q->per_channel() && !q->scales.empty()) {
    double s = q->scales[0], zp = q->zero_points.empty() ? 0 : q->zero_points[0];
    if (t.dtype() == DType::u8) {
      auto p = t.data<uint8_t>();
      for (size_t i = 0; i < out.size(); ++i) out[i] = s * (double(p[i]) - zp);
    } else {
      auto p = t.data<int8_t>();
      for (size_t i = 0; i < out.size(); ++i) out[i] = s * (double(p[i]) - zp);
    }
    return out;
  }
  if (t.dtype() == DType::f64) {
    auto p = t.data<double>();
    std::copy(p, p + out.size(), out.begin());
    return out;
  }
  if (t.dtype() == DType::i64) {
    auto v = t.to_int64();
    for (size_t i = 0; i < out.size(); ++i) out[i] = double(v[i]);
    return out;
  }
  auto v = t.to_float();
  for (size_t i = 0; i < out.size(); ++i) out[i] = v[i];
  return out;
}

// ---- progress ----

Progress::Progress(std::string label, bool plain_lines)
    : label_(std::move(label)),
      tty_(::isatty(STDERR_FILENO) != 0),
      plain_lines_(plain_lines),
      last_(std::chrono::steady_clock::now()) {}

Progress::~Progress() {
  if (open_ && tty_) std::cerr << '\n';
}

void Progress::update(int64_t done, int64_t total) {
  if (globals().quiet) return;
  int percent = total > 0 ? int(std::min<int64_t>(100, done * 100 / total)) : -1;
  if (tty_) {
    constexpr int kWidth = 30;
    std::ostringstream s;
    s << '\r' << label_ << " [";
    int fill = percent >= 0 ? percent * kWidth / 100 : 0;
    for (int i = 0; i < kWidth; ++i) s << (i < fill ? '#' : (i == fill ? '>' : ' '));
    s << "] " << done;
    if (total > 0) s << '/' << total << " samples (" << percent << "%)";
    else s << " samples";
    std::cerr << s.str() << std::flush;
    open_ = true;
    return;
  }
  if (!plain_lines_) return;
  // plain lines: every 10 % (or every 5 s when the total is unknown), and at the end
  auto now = std::chrono::steady_clock::now();
  bool step = percent >= 0 ? (percent / 10 != last_percent_ / 10 || percent == 100) && percent != last_percent_
                           : std::chrono::duration<double>(now - last_).count() > 5;
  if (!step) return;
  last_percent_ = percent;
  last_ = now;
  std::cerr << label_ << ": " << done;
  if (total > 0) std::cerr << '/' << total << " samples (" << percent << "%)";
  else std::cerr << " samples";
  std::cerr << '\n';
}

void Progress::finish() {
  if (open_ && tty_) std::cerr << '\n';
  open_ = false;
}

// ---- text ----

std::string human_bytes(int64_t bytes) {
  const char* units[] = {"B", "KB", "MB", "GB"};
  double v = double(bytes);
  int u = 0;
  while (v >= 1024 && u < 3) {
    v /= 1024;
    ++u;
  }
  std::ostringstream s;
  if (u == 0) s << bytes << " B";
  else s << fixed(v, 2) << ' ' << units[u];
  return s.str();
}

std::string fixed(double v, int digits) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (std::isnan(v)) return "nan";
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(digits);
  s << v;
  return s.str();
}

std::string dims_str(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "]";
}

std::vector<int64_t> parse_dims(const std::string& text) {
  std::vector<int64_t> dims;
  std::string cur;
  auto flush = [&] {
    if (cur.empty()) throw UsageError("bad shape '" + text + "' (expected e.g. 1x28x28)");
    size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(cur, &used);
    } catch (const std::exception&) {
    }
    if (used != cur.size() || v < 0) throw UsageError("bad shape '" + text + "' (expected e.g. 1x28x28)");
    dims.push_back(v);
    cur.clear();
  };
  for (char c : text) {
    if (c == 'x' || c == 'X' || c == ',') flush();
    else cur += c;
  }
  flush();
  return dims;
}

std::pair<std::string, std::string> split_assignment(const std::string& text, const std::string& what) {
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) throw UsageError(what + " '" + text + "': expected NAME=VALUE");
  return {text.substr(0, eq), text.substr(eq + 1)};
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace mq::cli
