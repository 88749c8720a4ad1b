// QuantizationInfo as a terminal table and as JSON.
#include "engine/quantize/info.h"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

namespace mq {

namespace {
std::string db(double v, bool have = true) {
  if (!have) return "-";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}
std::string bytes(int64_t n) {
  char buf[32];
  if (n >= (1 << 20)) std::snprintf(buf, sizeof buf, "%.2f MiB", double(n) / (1 << 20));
  else if (n >= 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", double(n) / 1024);
  else std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(n));
  return buf;
}
nlohmann::json num(double v) {
  if (std::isfinite(v)) return v;
  return v > 0 ? "inf" : (std::isnan(v) ? "nan" : "-inf");
}
}  // namespace

std::string QuantizationInfo::table() const {
  std::ostringstream os;
  size_t w = 5;
  for (auto& l : layers) w = std::max(w, l.name.size());
  w = std::min<size_t>(w, 40);
  char line[512];
  std::snprintf(line, sizeof line, "%-*s  %-7s  %-30s  %9s  %9s\n", int(w), "layer", "type", "scheme", "weight dB",
                "output dB");
  os << line;
  for (auto& l : layers) {
    std::string scheme =
        l.scheme + (l.activation.empty() ? "" : " +" + l.activation) + (l.fell_back ? " [fallback]" : "");
    std::snprintf(line, sizeof line, "%-*s  %-7s  %-30s  %9s  %9s\n", int(w), l.name.substr(0, w).c_str(),
                  l.type.c_str(), scheme.c_str(), db(l.weight_sqnr_db, l.quantized).c_str(),
                  db(l.output_sqnr_db, l.has_output_sqnr).c_str());
    os << line;
  }
  os << "\n";
  for (auto& o : outputs)
    os << "output " << o.name << ": SQNR " << db(o.sqnr_db) << " dB, max |error| " << o.max_abs_error << "\n";
  os << "size: " << bytes(size_before) << " -> " << bytes(size_after);
  char ratio[32];
  std::snprintf(ratio, sizeof ratio, "%.2fx", compression());
  os << " (" << ratio << " smaller)";
  if (file_size) os << ", " << round_trip_format << " file " << bytes(file_size);
  os << "\n";
  if (!outputs.empty())
    os << "model SQNR: " << db(model_sqnr_db) << " dB on " << validation_samples << " held-back samples\n";
  if (round_trip_checked)
    os << "round trip (" << round_trip_format << "): " << (round_trip_ok ? "identical outputs" : "FAILED") << "\n";
  if (!fallback_layers.empty()) {
    os << "fallback to float:";
    for (auto& f : fallback_layers) os << " " << f;
    os << "\n";
  }
  if (!seconds.empty()) {
    os << "time:";
    for (auto& [k, v] : seconds) {
      char t[64];
      std::snprintf(t, sizeof t, " %s %.2fs", k.c_str(), v);
      os << t;
    }
    os << "\n";
  }
  for (auto& p : problems) os << "problem: " << p << "\n";
  return os.str();
}

std::string QuantizationInfo::json() const {
  nlohmann::json j;
  j["mode"] = mode;
  j["layers"] = nlohmann::json::array();
  for (auto& l : layers) {
    j["layers"].push_back({{"name", l.name},
                           {"type", l.type},
                           {"pattern", l.pattern},
                           {"quantized", l.quantized},
                           {"scheme", l.scheme},
                           {"activation", l.activation},
                           {"weight_sqnr_db", l.quantized ? num(l.weight_sqnr_db) : nullptr},
                           {"output_sqnr_db", l.has_output_sqnr ? num(l.output_sqnr_db) : nullptr},
                           {"weight_bytes_fp32", l.weight_bytes_fp32},
                           {"weight_bytes_int8", l.weight_bytes_int8},
                           {"fell_back", l.fell_back}});
  }
  j["outputs"] = nlohmann::json::array();
  for (auto& o : outputs)
    j["outputs"].push_back({{"name", o.name}, {"sqnr_db", num(o.sqnr_db)}, {"max_abs_error", o.max_abs_error}});
  j["size_before"] = size_before;
  j["size_after"] = size_after;
  j["compression"] = compression();
  j["file_size"] = file_size;
  j["model_sqnr_db"] = outputs.empty() ? nlohmann::json(nullptr) : num(model_sqnr_db);
  j["calibration_samples"] = calibration_samples;
  j["validation_samples"] = validation_samples;
  j["round_trip"] = {{"checked", round_trip_checked}, {"ok", round_trip_ok}, {"format", round_trip_format}};
  j["fallback_layers"] = fallback_layers;
  j["problems"] = problems;
  j["passed"] = passed();
  j["seconds"] = seconds;
  return j.dump(2);
}

}  // namespace mq
