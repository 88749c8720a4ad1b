// The comparison harness's smoke run: scripts/compare.sh --smoke quantizes the mlp example
// with monoquant and ONNX Runtime, times both and writes build/compare/smoke.json.
// Skipped (with a message) when the harness's Python venv or mq_model_bench is missing.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace fs = std::filesystem;

TEST_CASE("compare.sh --smoke writes a JSON with monoquant and ONNX Runtime numbers") {
  fs::path src = MQ_SOURCE_DIR, bin = MQ_BINARY_DIR;
  fs::path venv = std::getenv("MQ_COMPARE_VENV") ? fs::path(std::getenv("MQ_COMPARE_VENV")) : bin / "compare-venv";
  if (!fs::exists(venv / "bin/python") && !fs::exists("/usr/bin/python3")) {
    MESSAGE("skipping: no Python (" << (venv / "bin/python").string() << " nor /usr/bin/python3)");
    return;
  }
  if (!fs::exists(bin / "benchmarks/mq_model_bench")) {
    MESSAGE("skipping: build the mq_model_bench target first");
    return;
  }
  if (!fs::exists(venv / "bin/python")) {
    // First run: the script creates the venv (needs PyPI for onnxruntime, onnx, ml_dtypes).
    MESSAGE("creating " << venv.string() << " (needs network access)");
  }
  fs::path json_path = bin / "compare/smoke.json";
  fs::remove(json_path);
  std::string cmd = "MQ_BUILD_DIR='" + bin.string() + "' MQ_COMPARE_VENV='" + venv.string() +
                    "' MQ_COMPARE_REBUILD=0 '" + (src / "scripts/compare.sh").string() + "' --smoke > '" +
                    (bin / "compare/smoke.log").string() + "' 2>&1";
  fs::create_directories(bin / "compare");
  int rc = std::system(cmd.c_str());
  if (rc != 0 && !fs::exists(venv / "bin/python")) {
    MESSAGE("skipping: could not create the venv (see " << (bin / "compare/smoke.log").string() << ")");
    return;
  }
  REQUIRE_MESSAGE(rc == 0, "compare.sh --smoke failed, see " << (bin / "compare/smoke.log").string());
  REQUIRE(fs::exists(json_path));
  std::ifstream f(json_path);
  nlohmann::json doc = nlohmann::json::parse(f);
  REQUIRE(doc["models"].size() == 1);
  const auto& m = doc["models"][0];
  CHECK(m["model"] == "mlp");
  CHECK(!m.contains("error"));
  CHECK(!m["monoquant"].contains("error"));
  CHECK(!m["ort_static"].contains("error"));
  CHECK(m["monoquant"]["calibrate_s"].get<double>() > 0);
  CHECK(m["monoquant"]["peak_rss_mib"].get<double>() > 0);
  CHECK(m["ort_static"]["seconds"].get<double>() > 0);
  // int8 stays close to fp32 on the mlp example, for both tools
  CHECK(m["accuracy"]["mq_int8_sqnr_db"].get<double>() > 20);
  CHECK(m["accuracy"]["ort_int8_sqnr_db"].get<double>() > 20);
  CHECK(m["accuracy"]["mq_int8_top1"].get<double>() > 80);
  REQUIRE(!m["latency"].empty());
  for (const auto& row : m["latency"])
    for (const char* k : {"mq_fp32", "mq_int8", "ort_fp32", "ort_int8"})
      CHECK(row[k]["median_ms"].get<double>() > 0);
}
