#pragma once
/// Shared pieces of the monoquant command-line tool: exit codes, messages, paths, array
/// preparation, statistics and small formatting helpers.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/calibration/source.h"
#include "engine/session.h"
#include "engine/sqnr.h"
#include "serialization/io.h"
#include "ir/graph.h"

namespace mq::cli {

/// The documented exit codes (docs/cli.md).
enum ExitCode : int {
  kOk = 0,                ///< success
  kValidationFailed = 1,  ///< quantization validation failed (--on-failure error)
  kUsage = 2,             ///< bad command line
  kInputError = 3,        ///< bad file, unsupported op, shapes, bad data
  kInternal = 4,          ///< a bug in monoquant
};

/// A command-line problem found after parsing (exit code 2).
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Options every command shares.
struct Globals {
  bool quiet = false;    ///< only errors on stderr
  bool verbose = false;  ///< extra detail on stderr
};
/// The process-wide global options (set once by main).
Globals& globals();

/// A status line on stderr (suppressed by --quiet).
void note(const std::string& msg);
/// A detail line on stderr (only with --verbose).
void detail(const std::string& msg);
/// A warning line on stderr ("monoquant: warning: ..."; suppressed by --quiet).
void warn(const std::string& msg);

/// Each subcommand registers itself on the app; `run` is set to what executes it.
using Runner = std::function<int()>;
void add_run_command(CLI::App& app, Runner& run);
void add_inspect_command(CLI::App& app, Runner& run);
void add_compare_command(CLI::App& app, Runner& run);
void add_bench_command(CLI::App& app, Runner& run);
void add_quantize_command(CLI::App& app, Runner& run);

/// Adds "-t,--threads N" (0 = all cores, at most max_session_threads(); more is a usage error).
CLI::Option* add_threads_option(CLI::App* cmd, int& threads);

// ---- files ----
/// Throws UsageError unless `path` ends in one of `exts`.
void require_extension(const std::string& path, const std::vector<std::string>& exts, const std::string& what);
/// Checks an output path before any work is done: not the same file as any of `inputs` (each
/// a path or NAME=PATH; compared with std::filesystem::equivalent when both exist, by
/// weakly canonical path otherwise), its folder
/// exists and is writable. Throws UsageError (same as an input) or IoError.
void check_output_path(const std::string& out, const std::vector<std::string>& inputs);
/// Size of a file in bytes (0 if it cannot be read).
int64_t file_bytes(const std::string& path);

// ---- arrays ----
/// Converts `t` for model input `in`: numeric conversion to the input dtype (multiplied by
/// `scale` when converting integers to floats), a missing batch dim added, and samples of the
/// right element count reshaped to the input's per-sample shape. Throws InvalidArgument.
Tensor prepare_array(const Tensor& t, const Value& in, double scale, const std::string& file);
/// Rows [begin, end) of a tensor along dim 0, sharing storage.
Tensor slice_rows(const Tensor& t, int64_t begin, int64_t end);
/// Batches of whole arrays (all inputs cut along dim 0), `batch` rows each.
class ArraySource : public CalibrationSource {
 public:
  ArraySource(TensorMap arrays, int64_t batch);
  std::optional<TensorMap> next() override;
  void rewind() override { row_ = 0; }
  int64_t rows() const { return rows_; }

 private:
  TensorMap arrays_;
  int64_t batch_;
  int64_t rows_ = 0;
  int64_t row_ = 0;
};
/// A tensor's values as doubles (numeric dtypes; quantized u8/i8 values with per-tensor
/// QuantParams are dequantized).
std::vector<double> to_doubles(const Tensor& t);

// ---- progress ----
/// A progress bar on a terminal, plain "label: n/total" lines otherwise; silent with --quiet.
class Progress {
 public:
  /// `plain_lines`: print progress lines when stderr is not a terminal (else stay silent).
  explicit Progress(std::string label, bool plain_lines = true);
  ~Progress();
  void update(int64_t done, int64_t total);
  void finish();

 private:
  std::string label_;
  bool tty_;
  bool plain_lines_;
  bool open_ = false;
  int last_percent_ = -1;
  std::chrono::steady_clock::time_point last_;
};

// ---- text ----
/// "1.23 MB" style size.
std::string human_bytes(int64_t bytes);
/// Fixed-point number with `digits` decimals ("inf" for infinities).
std::string fixed(double v, int digits = 2);
/// "2x28x28"-style text or "[1,28,28]" of dims.
std::string dims_str(const std::vector<int64_t>& dims);
/// Parses "1x28x28" (also "1,28,28"); throws UsageError.
std::vector<int64_t> parse_dims(const std::string& text);
/// Splits "NAME=VALUE" (throws UsageError naming `what` when there is no '=').
std::pair<std::string, std::string> split_assignment(const std::string& text, const std::string& what);
/// Seconds since `t0`.
double seconds_since(std::chrono::steady_clock::time_point t0);

}  // namespace mq::cli
