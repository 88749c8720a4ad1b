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

TEST_CASE("compare.sh --ort-files --smoke runs ONNX Runtime's int8 files of the mlp example in both runtimes") {
  fs::path src = MQ_SOURCE_DIR, bin = MQ_BINARY_DIR;
  fs::path venv = std::getenv("MQ_COMPARE_VENV") ? fs::path(std::getenv("MQ_COMPARE_VENV")) : bin / "compare-venv";
  if (!fs::exists(venv / "bin/python") || !fs::exists(bin / "benchmarks/mq_model_bench")) {
    MESSAGE("skipping: needs " << (venv / "bin/python").string()
                               << " (scripts/compare.sh makes it) and mq_model_bench");
    return;
  }
  fs::path json_path = bin / "compare/ort_files.json", log = bin / "compare/ort_files_smoke.log";
  fs::remove(json_path);
  fs::create_directories(bin / "compare");
  std::string cmd = "MQ_BUILD_DIR='" + bin.string() + "' MQ_COMPARE_VENV='" + venv.string() +
                    "' MQ_COMPARE_REBUILD=0 '" + (src / "scripts/compare.sh").string() +
                    "' --ort-files --smoke > '" + log.string() + "' 2>&1";
  REQUIRE_MESSAGE(std::system(cmd.c_str()) == 0, "compare.sh --ort-files --smoke failed, see " << log.string());
  std::ifstream f(json_path);
  nlohmann::json doc = nlohmann::json::parse(f);
  CHECK(!doc["machine"]["cpu"].get<std::string>().empty());
  CHECK(doc["machine"].contains("amx"));
  REQUIRE(doc["files"].size() == 3);  // QDQ static, QOperator static, dynamic
  for (const auto& file : doc["files"]) {
    INFO(file["kind"].get<std::string>());
    CHECK(file["model"] == "mlp");
    CHECK(!file.contains("error"));
    CHECK(!file.contains("ort_error"));
    REQUIRE(!file["latency"].empty());
    CHECK(file["latency"][0]["ort"]["median_ms"].get<double>() > 0);
    if (file.contains("monoquant_error")) {
      // a refused file is reported with the importer's message, not dropped
      CHECK(!file["monoquant_error"].get<std::string>().empty());
      continue;
    }
    CHECK(file["latency"][0]["monoquant"]["median_ms"].get<double>() > 0);
    CHECK(file["accuracy"]["rows"].get<int>() == 200);
    CHECK(file["accuracy"]["identical_rows"].get<int>() <= 200);
    // monoquant runs ORT's QDQ and dynamic files of the mlp example within 30 dB of ORT itself
    if (file["kind"] != "QOperator static per-channel") {
      const auto& s = file["accuracy"]["sqnr_db"];
      CHECK((s.is_string() ? s.get<std::string>() == "inf" : s.get<double>() > 30));
    }
  }
}
