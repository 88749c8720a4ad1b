// Calibration table: JSON round trip of observer stats and quant params, atomic writes, and
// errors that name the file, the value and the field.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "engine/observers/observer.h"
#include "ir/error.h"
#include "serialization/calibration_table.h"

using namespace mq;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir() {
  fs::path d = fs::temp_directory_path() / ("mq_caltable_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

void write_text(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

std::string load_error(const fs::path& p) {
  try {
    load_calibration_table(p);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

CalibrationTable sample_table() {
  CalibrationTable t;
  std::vector<float> data{-1.25f, 0.1f, 3.0000002f, 0.7f, -0.3f, 2.5f};
  for (const char* spec : {"minmax", "moving-average", "percentile:99.9", "entropy"}) {
    auto obs = make_observer(spec);
    obs->observe(data.data(), std::vector<int64_t>{2, 3});
    CalibrationEntry e{obs->stats(), obs->compute(QuantScheme::activation())};
    t.values[std::string("act/") + spec] = e;
  }
  auto pc = make_observer("minmax", int64_t{1});
  pc->observe(data.data(), std::vector<int64_t>{2, 3});
  t.values["weight"] = CalibrationEntry{pc->stats(), pc->compute(QuantScheme::weight())};
  t.values["not-yet-seen"] = CalibrationEntry{make_observer("entropy")->stats(), std::nullopt};
  return t;
}

}  // namespace

TEST_CASE("calibration table round trip") {
  const fs::path dir = temp_dir();
  const fs::path file = dir / "calib.json";
  CalibrationTable t = sample_table();
  save_calibration_table(t, file);
  CalibrationTable back = load_calibration_table(file);
  CHECK(back == t);
  CHECK(back.values.at("weight").qparams->axis == 1);
  CHECK(back.values.at("act/entropy").stats.histogram->counts.size() == 2048);
  // Observers rebuilt from the loaded stats give the same parameters.
  for (const auto& [name, entry] : back.values) {
    CAPTURE(name);
    if (!entry.qparams) continue;
    auto obs = observer_from_stats(entry.stats);
    const QuantScheme s = entry.stats.axis ? QuantScheme::weight() : QuantScheme::activation();
    CHECK(obs->compute(s) == *entry.qparams);
  }
  // Overwriting is atomic and leaves no temporary file behind.
  t.values.erase("weight");
  save_calibration_table(t, file);
  CHECK(load_calibration_table(file) == t);
  int files = 0;
  for (const auto& f : fs::directory_iterator(dir)) files += f.is_regular_file();
  CHECK(files == 1);
  fs::remove_all(dir);
}

TEST_CASE("calibration table errors name the file and the field") {
  const fs::path dir = temp_dir();
  const fs::path file = dir / "bad.json";

  CHECK_THROWS_AS(load_calibration_table(dir / "missing.json"), IoError);
  CHECK(load_error(dir / "missing.json").find("missing.json") != std::string::npos);

  write_text(file, "{ not json");
  CHECK_THROWS_AS(load_calibration_table(file), FormatError);
  CHECK(load_error(file).find("bad.json") != std::string::npos);

  write_text(file, R"({"format": "other", "version": 1, "values": {}})");
  CHECK(load_error(file).find("field 'format'") != std::string::npos);

  write_text(file, R"({"format": "monoquant-calibration", "version": 7, "values": {}})");
  CHECK(load_error(file).find("field 'version'") != std::string::npos);

  const std::string good = calibration_table_to_json(sample_table());
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    const size_t at = s.find(from);
    REQUIRE(at != std::string::npos);
    s.replace(at, from.size(), to);
    return s;
  };
  // A string where the minima should be: error names file, value and field.
  write_text(file, replaced("\"min\": [", "\"min\": [\"x\", "));
  std::string msg = load_error(file);
  CHECK(msg.find("bad.json") != std::string::npos);
  CHECK(msg.find("value 'act/entropy'") != std::string::npos);
  CHECK(msg.find("field 'min'") != std::string::npos);

  write_text(file, replaced("\"observer\": \"minmax\"", "\"observer\": 3"));
  CHECK(load_error(file).find("field 'observer'") != std::string::npos);

  write_text(file, replaced("\"batches\": 1", "\"batches\": -1"));
  CHECK(load_error(file).find("field 'batches'") != std::string::npos);

  write_text(file, replaced("\"qtype\": \"u8\"", "\"qtype\": \"f32\""));
  CHECK(load_error(file).find("field 'qtype'") != std::string::npos);

  write_text(file, replaced("\"counts\": [", "\"counts\": [-4, "));
  msg = load_error(file);
  CHECK(msg.find("histogram") != std::string::npos);
  CHECK(msg.find("field 'counts'") != std::string::npos);

  write_text(file, replaced("\"elements\": 6", "\"elements\": 6, \"axis\": \"zero\""));
  CHECK(load_error(file).find("field 'axis'") != std::string::npos);

  // Writing into a folder that does not exist fails with an IoError naming the file.
  CHECK_THROWS_AS(save_calibration_table(sample_table(), dir / "no" / "such" / "dir.json"), IoError);
  fs::remove_all(dir);
}
