#include "serialization/calibration_table.h"

#include <cmath>
#include <fstream>
#include <sstream>
#include <system_error>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "ir/dtype.h"
#include "ir/error.h"
#include "serialization/io.h"

namespace mq {
namespace {

using json = nlohmann::json;

constexpr const char* kFormat = "monoquant-calibration";
constexpr int kVersion = 1;

json floats_to_json(const std::vector<float>& v) {
  json a = json::array();
  for (float f : v) a.push_back(double(f));
  return a;
}

json entry_to_json(const CalibrationEntry& e) {
  const ObserverStats& s = e.stats;
  json j;
  j["observer"] = s.kind;
  j["batches"] = s.batches;
  j["elements"] = s.elements;
  if (s.axis) j["axis"] = *s.axis;
  j["min"] = floats_to_json(s.min);
  j["max"] = floats_to_json(s.max);
  j["averaging_constant"] = s.averaging_constant;
  j["percentile"] = s.percentile;
  j["quantized_bins"] = s.quantized_bins;
  if (s.histogram) {
    json h;
    h["exponent"] = s.histogram->exponent ? json(*s.histogram->exponent) : json(nullptr);
    h["counts"] = s.histogram->counts;
    j["histogram"] = std::move(h);
  }
  if (e.qparams) {
    const QuantParams& q = *e.qparams;
    json jq;
    jq["qtype"] = std::string(dtype_name(q.qtype));
    jq["scales"] = floats_to_json(q.scales);
    jq["zero_points"] = q.zero_points;
    if (q.axis) jq["axis"] = *q.axis;
    j["qparams"] = std::move(jq);
  }
  return j;
}

/// Reads fields of one JSON object, naming "<where>: field '<name>'" in errors.
class Reader {
 public:
  Reader(const json& obj, std::string where) : obj_(obj), where_(std::move(where)) {
    if (!obj_.is_object()) fail<FormatError>(where_, ": expected a JSON object");
  }
  bool has(const char* f) const { return obj_.contains(f) && !obj_.at(f).is_null(); }
  const json& at(const char* f) const {
    if (!obj_.contains(f)) fail<FormatError>(where_, ": missing field '", f, "'");
    return obj_.at(f);
  }
  [[noreturn]] void bad(const char* f, const char* want) const {
    fail<FormatError>(where_, ": field '", f, "' must be ", want);
  }
  std::string str(const char* f) const {
    const json& v = at(f);
    if (!v.is_string()) bad(f, "a string");
    return v.get<std::string>();
  }
  int64_t integer(const char* f) const {
    const json& v = at(f);
    if (!v.is_number_integer()) bad(f, "an integer");
    return v.get<int64_t>();
  }
  double number(const char* f) const {
    const json& v = at(f);
    if (!v.is_number()) bad(f, "a number");
    return v.get<double>();
  }
  std::vector<float> floats(const char* f) const {
    const json& v = at(f);
    if (!v.is_array()) bad(f, "an array of numbers");
    std::vector<float> out;
    for (const json& x : v) {
      if (!x.is_number()) bad(f, "an array of numbers");
      const double d = x.get<double>();
      if (!std::isfinite(d) || std::fabs(d) > 3.4028234663852886e38) bad(f, "an array of finite float32 values");
      out.push_back(float(d));
    }
    return out;
  }
  template <class T>
  std::vector<T> ints(const char* f) const {
    const json& v = at(f);
    if (!v.is_array()) bad(f, "an array of integers");
    std::vector<T> out;
    for (const json& x : v) {
      if (!x.is_number_integer()) bad(f, "an array of integers");
      if constexpr (std::is_unsigned_v<T>) {
        if (!x.is_number_unsigned()) bad(f, "an array of non-negative integers");
        out.push_back(x.get<T>());
      } else {
        const int64_t i = x.get<int64_t>();
        if (i < int64_t(std::numeric_limits<T>::min()) || i > int64_t(std::numeric_limits<T>::max()))
          bad(f, "an array of integers in range");
        out.push_back(T(i));
      }
    }
    return out;
  }
  const std::string& where() const { return where_; }

 private:
  const json& obj_;
  std::string where_;
};

CalibrationEntry entry_from_json(const json& j, const std::string& where) {
  Reader r(j, where);
  CalibrationEntry e;
  ObserverStats& s = e.stats;
  s.kind = r.str("observer");
  s.batches = r.integer("batches");
  s.elements = r.integer("elements");
  if (s.batches < 0) r.bad("batches", "non-negative");
  if (s.elements < 0) r.bad("elements", "non-negative");
  if (r.has("axis")) s.axis = r.integer("axis");
  s.min = r.floats("min");
  s.max = r.floats("max");
  if (s.min.size() != s.max.size()) r.bad("max", "as long as 'min'");
  for (size_t i = 0; i < s.min.size(); ++i)
    if (s.min[i] > s.max[i]) r.bad("min", "≤ 'max' element-wise");
  s.averaging_constant = r.number("averaging_constant");
  s.percentile = r.number("percentile");
  const int64_t qb = r.integer("quantized_bins");
  if (qb < 2 || qb > (1 << 24)) r.bad("quantized_bins", "an integer in [2, 2^24]");
  s.quantized_bins = int32_t(qb);
  if (r.has("histogram")) {
    Reader h(r.at("histogram"), where + ": histogram");
    HistogramStats hs;
    if (h.has("exponent")) {
      const int64_t ex = h.integer("exponent");
      if (ex < -200 || ex > 200) h.bad("exponent", "an integer in [-200, 200]");
      hs.exponent = int32_t(ex);
    }
    hs.counts = h.ints<uint64_t>("counts");
    if (hs.counts.empty() || hs.counts.size() > (size_t(1) << 24))
      h.bad("counts", "a non-empty array of at most 2^24 counts");
    s.histogram = std::move(hs);
  }
  if (r.has("qparams")) {
    Reader q(r.at("qparams"), where + ": qparams");
    QuantParams qp;
    const std::string t = q.str("qtype");
    qp.qtype = dtype_from_name(t);
    if (qp.qtype != DType::u8 && qp.qtype != DType::i8) q.bad("qtype", "\"u8\" or \"i8\"");
    qp.scales = q.floats("scales");
    qp.zero_points = q.ints<int32_t>("zero_points");
    if (q.has("axis")) qp.axis = q.integer("axis");
    if (qp.scales.empty()) q.bad("scales", "non-empty");
    if (qp.zero_points.size() != qp.scales.size()) q.bad("zero_points", "as long as 'scales'");
    if (!qp.axis && qp.scales.size() != 1) q.bad("scales", "a single value without an axis");
    for (float sc : qp.scales)
      if (!(sc > 0.0f)) q.bad("scales", "positive");
    e.qparams = std::move(qp);
  }
  return e;
}

}  // namespace

std::string calibration_table_to_json(const CalibrationTable& table) {
  json root;
  root["format"] = kFormat;
  root["version"] = kVersion;
  json values = json::object();
  for (const auto& [name, entry] : table.values) values[name] = entry_to_json(entry);
  root["values"] = std::move(values);
  return root.dump(1) + "\n";
}

CalibrationTable calibration_table_from_json(const std::string& text, const std::string& source) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for huge numbers
    fail<FormatError>(source, ": not valid JSON (", printable(e.what(), 4 * kMaxEchoedChars), ")");
  }
  Reader r(root, source);
  if (r.str("format") != kFormat) r.bad("format", "\"monoquant-calibration\"");
  if (r.integer("version") != kVersion) r.bad("version", "1");
  const json& values = r.at("values");
  if (!values.is_object()) r.bad("values", "an object");
  CalibrationTable table;
  for (const auto& [name, j] : values.items())
    table.values.emplace(name, entry_from_json(j, source + ": value '" + printable(name) + "'"));
  return table;
}

void save_calibration_table(const CalibrationTable& table, const std::filesystem::path& path) {
  const std::string text = calibration_table_to_json(table);
  std::filesystem::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail<IoError>(path.string(), ": cannot create temporary file ", tmp.string());
    out.write(text.data(), std::streamsize(text.size()));
    out.flush();
    if (!out) {
      out.close();
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      fail<IoError>(path.string(), ": write failed");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    fail<IoError>(path.string(), ": cannot replace file (", ec.message(), ")");
  }
}

namespace {
CalibrationTable read_calibration_table_file(const std::filesystem::path& path) {
  auto bytes = serialization::read_file(path.string());  // regular files only (no FIFO waits)
  return calibration_table_from_json(std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                                     path.string());
}
}  // namespace

CalibrationTable load_calibration_table(const std::filesystem::path& path) {
  return reading_file(path.string(), [&] { return read_calibration_table_file(path); });
}

}  // namespace mq
