// End-to-end tests of the monoquant command-line tool: the real binary, real models
// (../shared/models, examples/) and every output format, plus the error paths and their exit
// codes.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <iterator>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "attention_block.h"
#include "engine/api.h"
#include "engine/calibration/source.h"
#include "kernels/cpu_features.h"
#include "serialization/npy.h"
#include "tools/cli_util.h"

namespace fs = std::filesystem;
using mq::test::q;
using mq::test::run_cli;
using mq::test::TempDir;
using nlohmann::json;

namespace {

const std::string kShared = MQ_SHARED_DIR;
const std::string kSource = MQ_SOURCE_DIR;
const std::string kMnist8 = kShared + "/models/mnist8/model.onnx";
const std::string kGtzan = kShared + "/models/gtzan_mlp/model.onnx";

bool have(const std::string& path) { return fs::exists(path); }

/// True when this build of monoquant has the quantize command (the engine's quantization).
bool quantize_available() {
  static const bool ok = run_cli("quantize --help").out.find("not available") == std::string::npos &&
                         run_cli("quantize --help").code == 0;
  return ok;
}

/// stderr ends with exactly one "monoquant: error: ..." line (plus an optional usage hint);
/// progress lines may come before it.
void check_error_line(const mq::test::CliResult& r) {
  std::vector<std::string> lines;
  std::istringstream in(r.err);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  int errors = 0;
  for (auto& l : lines) errors += l.rfind("monoquant: error: ", 0) == 0;
  CHECK(errors == 1);
  REQUIRE_FALSE(lines.empty());
  bool last = lines.back().rfind("monoquant: error: ", 0) == 0 ||
              (lines.size() >= 2 && lines[lines.size() - 2].rfind("monoquant: error: ", 0) == 0 &&
               lines.back().rfind("Run 'monoquant", 0) == 0);
  CHECK(last);
  CHECK(r.err.find("terminate") == std::string::npos);
  CHECK(r.err.find("Aborted") == std::string::npos);
}

json parse_json(const std::string& text) {
  json j;
  REQUIRE_NOTHROW(j = json::parse(text));
  return j;
}

bool finite_number(const json& j) { return j.is_number() && std::isfinite(j.get<double>()); }

/// A folder listing without the temporary files of atomic writes.
std::vector<std::string> listing(const fs::path& dir) {
  std::vector<std::string> names;
  for (auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("cli: --help for every command, documented exit codes") {
  auto r = run_cli("--help");
  CHECK(r.code == 0);
  CHECK(r.out.find("quantize") != std::string::npos);
  CHECK(r.out.find("Exit codes") != std::string::npos);
  for (const char* cmd : {"quantize", "run", "inspect", "compare", "bench"}) {
    CAPTURE(cmd);
    auto h = run_cli(std::string(cmd) + " --help");
    CHECK(h.code == 0);
    CHECK(h.out.find("Usage") != std::string::npos);
    CHECK(h.out.find("Exit codes") != std::string::npos);
  }
  if (quantize_available()) {
    auto h = run_cli("quantize --help");
    for (const char* opt : {"--calib", "--max-samples", "--mode", "--layers", "--include", "--exclude",
                            "--per-tensor", "--activation-type", "--symmetric-activations", "--observer",
                            "--min-sqnr", "--on-failure", "--report", "--threads", "--save-calibration",
                            "--load-calibration", "--validation-samples", "--state", "state_out=state"}) {
      CAPTURE(opt);
      CHECK(h.out.find(opt) != std::string::npos);
    }
  }
}

TEST_CASE("cli: usage errors exit 2 with one error line") {
  auto r = run_cli("");
  CHECK(r.code == 2);
  check_error_line(r);
  r = run_cli("inspect --bogus-flag x.onnx");
  CHECK(r.code == 2);
  check_error_line(r);
  r = run_cli("frobnicate");
  CHECK(r.code == 2);
  check_error_line(r);
  r = run_cli("bench");  // missing model
  CHECK(r.code == 2);
  check_error_line(r);
  if (have(kMnist8)) {
    r = run_cli("bench " + q(kMnist8) + " --shape nope=1x2");
    CHECK(r.code == 2);
    check_error_line(r);
    CHECK(r.err.find("nope") != std::string::npos);
  }
}

TEST_CASE("cli: input errors exit 3 with one error line") {
  TempDir tmp;
  SUBCASE("missing file") {
    auto r = run_cli("inspect " + q(tmp / "missing.onnx"));
    CHECK(r.code == 3);
    check_error_line(r);
    CHECK(r.err.find("missing.onnx") != std::string::npos);
    CHECK(r.out.empty());
  }
  SUBCASE("unknown format") {
    mq::test::write_file(tmp / "model.txt", "hello");
    auto r = run_cli("inspect " + q(tmp / "model.txt"));
    CHECK(r.code == 3);
    check_error_line(r);
  }
  SUBCASE("garbage ONNX") {
    mq::test::write_file(tmp / "bad.onnx", std::string("\xff\xff\xff\xff garbage", 13));
    auto r = run_cli("inspect " + q(tmp / "bad.onnx"));
    CHECK(r.code == 3);
    check_error_line(r);
  }
  SUBCASE("unsupported op") {
    mq::test::write_file(tmp / "odd.onnx", mq::test::onnx_single_op_model("FrobnicateTensor"));
    auto r = run_cli("inspect " + q(tmp / "odd.onnx"));
    CHECK(r.code == 3);
    check_error_line(r);
    CHECK(r.err.find("FrobnicateTensor") != std::string::npos);
    r = run_cli("bench " + q(tmp / "odd.onnx") + " -n 1");
    CHECK(r.code == 3);
    if (quantize_available()) {
      r = run_cli("quantize " + q(tmp / "odd.onnx") + " --mode dynamic -o " + q(tmp / "odd.mqm"));
      CHECK(r.code == 3);
      check_error_line(r);
      CHECK(r.err.find("FrobnicateTensor") != std::string::npos);
      CHECK_FALSE(fs::exists(tmp / "odd.mqm"));
    }
  }
  SUBCASE("run: input of the wrong shape") {
    mq::test::write_file(tmp / "mlp.onnx", mq::test::onnx_mlp_model(8, 4));
    mq::serialization::save_npy(tmp / "x.npy", mq::Tensor(mq::DType::f32, {2, 5}));
    auto r = run_cli("run " + q(tmp / "mlp.onnx") + " --input X=" + q(tmp / "x.npy"));
    CHECK(r.code == 3);
    check_error_line(r);
  }
}

TEST_CASE("cli: run and inspect a hand-made MLP") {
  TempDir tmp;
  mq::test::write_file(tmp / "mlp.onnx", mq::test::onnx_mlp_model(8, 4));
  std::vector<float> x(3 * 8);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(i % 5) * 0.25f - 0.5f;
  mq::serialization::save_npy(tmp / "x.npy", mq::Tensor::from_vector<float>({3, 8}, x));

  auto r = run_cli("run " + q(tmp / "mlp.onnx") + " --input X=" + q(tmp / "x.npy"));
  REQUIRE(r.code == 0);
  CHECK(r.out.find("Y  f32 [3,4]") != std::string::npos);

  r = run_cli("run " + q(tmp / "mlp.onnx") + " -i " + q(tmp / "x.npy") + " -o " + q(tmp / "y.npz"));
  REQUIRE(r.code == 0);
  auto y = mq::serialization::load_npz(tmp / "y.npz");
  REQUIRE(y.count("Y"));
  CHECK(y.at("Y").dims() == std::vector<int64_t>{3, 4});
  for (float v : y.at("Y").span<float>()) CHECK(v >= 0.f);  // Relu

  r = run_cli("run " + q(tmp / "mlp.onnx") + " --input nope=" + q(tmp / "x.npy"));
  CHECK(r.code == 2);
  check_error_line(r);

  r = run_cli("inspect " + q(tmp / "mlp.onnx") + " --json");
  REQUIRE(r.code == 0);
  json j = parse_json(r.out);
  CHECK(j["parameters"].get<int64_t>() == 8 * 4 + 4);
  CHECK(j["layers"].size() == 1);
  CHECK(j["layers"][0]["op"] == "Linear");
  CHECK(j["inputs"][0]["name"] == "X");

  r = run_cli("bench " + q(tmp / "mlp.onnx") + " -n 5 --batch 4 --json");
  REQUIRE(r.code == 0);
  j = parse_json(r.out);
  CHECK(j["models"][0]["batch"] == 4);
  CHECK(j["models"][0]["p50_ms"].get<double>() > 0);
  CHECK(j["models"][0]["p99_ms"].get<double>() >= j["models"][0]["p50_ms"].get<double>());
  CHECK(j["isa"] == mq::kernels::isa_name(mq::kernels::active_isa()));
  CHECK(r.err.find(std::string("int8 kernels ") + mq::kernels::isa_name(mq::kernels::active_isa())) !=
        std::string::npos);
  {  // a forced lower tier is what bench reports
    const char* old = std::getenv("MONOQUANT_ISA");
    const std::string saved = old ? old : "";
    ::setenv("MONOQUANT_ISA", "scalar", 1);
    r = run_cli("bench " + q(tmp / "mlp.onnx") + " -n 2 --json");
    if (old) ::setenv("MONOQUANT_ISA", saved.c_str(), 1);
    else ::unsetenv("MONOQUANT_ISA");
    REQUIRE(r.code == 0);
    CHECK(parse_json(r.out)["isa"] == "scalar");
  }
}

TEST_CASE("cli: mnist8 inspect, run, bench") {
  if (!have(kMnist8)) {
    MESSAGE("skipped: " << kMnist8 << " not found");
    return;
  }
  auto r = run_cli("inspect " + q(kMnist8));
  REQUIRE(r.code == 0);
  CHECK(r.out.find("Conv2d") != std::string::npos);
  CHECK(r.out.find("Input3") != std::string::npos);

  TempDir tmp;
  mq::Graph g = mq::load_model(kMnist8);
  mq::FileSource src(g, {kShared + "/models/mnist8/test_data_set_0"});
  auto batch = src.next();
  REQUIRE(batch);
  mq::serialization::save_npy(tmp / "x.npy", batch->begin()->second);
  r = run_cli("run " + q(kMnist8) + " --input Input3=" + q(tmp / "x.npy") + " --json");
  REQUIRE(r.code == 0);
  json j = parse_json(r.out);
  REQUIRE(j.size() == 1);
  CHECK(j[0]["shape"] == json::array({1, 10}));

  r = run_cli("bench " + q(kMnist8) + " " + q(kMnist8) + " -n 4 --warmup 1 --threads 1");
  REQUIRE(r.code == 0);
  CHECK(r.out.find("speedup") != std::string::npos);
  CHECK(r.out.find("p99 ms") != std::string::npos);
}

TEST_CASE("cli: quantize mnist8 to every format, compare with labels") {
  if (!have(kMnist8)) {
    MESSAGE("skipped: " << kMnist8 << " not found");
    return;
  }
  if (!quantize_available()) {
    MESSAGE("skipped: this build of monoquant has no quantize command yet");
    return;
  }
  TempDir tmp;
  const std::string sets = kShared + "/models/mnist8/test_data_set_";
  // calibrate on the three ONNX test data sets (too few to hold samples back: said so)
  auto r =
      run_cli("quantize " + q(kMnist8) + " --calib " + q(sets + "0") + " --calib " + q(sets + "1") + " --calib " +
              q(sets + "2") + " -o " + q(tmp / "m.mqm") + " --report " + q(tmp / "m.json") + " --on-failure warn");
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.err.find("validating on") != std::string::npos);  // the overlap is reported
  CHECK(fs::exists(tmp / "m.mqm"));
  json rep;
  {
    std::ifstream f(tmp / "m.json");
    rep = json::parse(f);
  }
  CHECK(rep["layers"].size() >= 2);  // two Conv2d (the MatMul stays a MatMul in the IR)
  CHECK(rep["output"]["bytes"].get<int64_t>() > 0);
  CHECK(rep["validation_overlaps_calibration"] == true);

  bool mnist = mq::test::mnist_npy(tmp.path().string(), 300);
  if (!mnist) {
    MESSAGE("MNIST test set not found: formats tested with the ONNX test data sets only");
  }
  const std::string calib = mnist ? tmp / "images_f32.npy" : sets + "0";
  for (const char* ext : {".mqm", ".safetensors", ".pt", ".onnx"}) {
    CAPTURE(ext);
    std::string out = tmp / (std::string("mnist8.int8") + ext);
    std::string report = tmp / (std::string("report") + ext + ".json");
    r = run_cli("quantize " + q(kMnist8) + " --calib " + q(calib) + " -o " + q(out) + " --report " + q(report) +
                " --max-samples 200 -t 2 --on-failure warn");
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(r.out.find("SQNR") != std::string::npos);
    REQUIRE(fs::exists(out));
    std::ifstream f(report);
    json j = json::parse(f);
    CHECK(j["layers"].size() >= 2);
    for (auto& l : j["layers"]) {
      CHECK(l.contains("name"));
      if (l.contains("weight_sqnr_db") && l.value("quantized", false)) CHECK(finite_number(l["weight_sqnr_db"]));
    }
    CHECK(j["size_before"].get<int64_t>() > j["size_after"].get<int64_t>());
    if (mnist) {
      CHECK(j["validation_overlaps_calibration"] == false);
      CHECK(finite_number(j["model_sqnr_db"]));
    }
    auto ins = run_cli("inspect " + q(out) + " --json");
    INFO(ins.err);
    REQUIRE(ins.code == 0);
    CHECK(parse_json(ins.out)["quantized_layers"].get<int64_t>() >= 1);
  }

  if (mnist) {
    r = run_cli("compare " + q(kMnist8) + " " + q(tmp / "mnist8.int8.mqm") + " --data " + q(tmp / "images.npy") +
                " --labels " + q(tmp / "labels.npy") + " --json -n 200");
    INFO(r.err);
    REQUIRE(r.code == 0);
    json c = parse_json(r.out);
    CHECK(c["samples"] == 200);
    CHECK(c["accuracy"].get<double>() > 0.9);
    CHECK(c["float_accuracy"].get<double>() > 0.9);
    CHECK(c["outputs"][0]["top1_agreement"].get<double>() > 0.9);
    CHECK(finite_number(c["outputs"][0]["sqnr_db"]));
    CHECK(c["layers"].size() >= 1);

    r = run_cli("bench " + q(kMnist8) + " " + q(tmp / "mnist8.int8.mqm") + " -n 3 --warmup 1 --json");
    REQUIRE(r.code == 0);
    CHECK(parse_json(r.out)["speedup_p50"].get<double>() > 0);
  }
}

TEST_CASE("cli: compare without quantize (a model against itself)") {
  if (!have(kMnist8)) return;
  TempDir tmp;
  if (!mq::test::mnist_npy(tmp.path().string(), 64)) return;
  auto r = run_cli("compare " + q(kMnist8) + " " + q(kMnist8) + " --data " + q(tmp / "images.npy") + " --labels " +
                   q(tmp / "labels.npy"));
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("top-1 agreement 100.00 %") != std::string::npos);
  CHECK(r.out.find("SQNR inf") != std::string::npos);
  r = run_cli("compare " + q(kMnist8) + " " + q(kMnist8) + " --data " + q(tmp / "images.npy") + " --labels " +
              q(tmp / "missing.npy"));
  CHECK(r.code == 3);
  check_error_line(r);
}

TEST_CASE("cli: quantize a weight-heavy MLP (gtzan_mlp), static and dynamic") {
  if (!have(kGtzan) || !quantize_available()) {
    MESSAGE("skipped: gtzan_mlp or quantize not available");
    return;
  }
  TempDir tmp;
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.f, 20.f);
  std::vector<float> x(96 * 130 * 13);
  for (auto& v : x) v = nd(rng);
  mq::serialization::save_npy(tmp / "calib.npy", mq::Tensor::from_vector<float>({96, 130, 13}, x));

  auto r = run_cli("quantize " + q(kGtzan) + " --calib " + q(tmp / "calib.npy") + " -o " +
                   q(tmp / "g.safetensors") + " --json --quiet --on-failure warn --observer percentile:99.9");
  INFO(r.err);
  REQUIRE(r.code == 0);
  json j = parse_json(r.out);
  int linear_layers = 0;
  for (auto& l : j["layers"]) linear_layers += l["pattern"] == "linear";
  CHECK(linear_layers == 4);
  CHECK(j["compression"].is_number());
  double compression = double(j["size_before"].get<int64_t>()) / double(j["size_after"].get<int64_t>());
  CHECK(compression > 2.0);
  CHECK(j["validation_samples"].get<int64_t>() == 32);
  CHECK(j["calibration_samples"].get<int64_t>() == 64);
  for (auto& o : j["outputs"]) CHECK(finite_number(o["sqnr_db"]));

  r = run_cli("quantize " + q(kGtzan) + " --mode dynamic --calib " + q(tmp / "calib.npy") + " -o " +
              q(tmp / "g.pt") + " --report " + q(tmp / "d.json") + " --on-failure warn");
  INFO(r.err);
  REQUIRE(r.code == 0);
  std::ifstream f(tmp / "d.json");
  json d = json::parse(f);
  CHECK(d["mode"] == "dynamic");

  // calibrate once, quantize twice
  r = run_cli("quantize " + q(kGtzan) + " --calib " + q(tmp / "calib.npy") + " -o " + q(tmp / "a.mqm") +
              " --save-calibration " + q(tmp / "cal.json") +
              " --on-failure ignore --layers linear --exclude '*3*'");
  INFO(r.err);
  REQUIRE(r.code == 0);
  REQUIRE(fs::exists(tmp / "cal.json"));
  r = run_cli("quantize " + q(kGtzan) + " --load-calibration " + q(tmp / "cal.json") + " -o " + q(tmp / "b.mqm") +
              " --on-failure ignore --per-tensor --reduce-range --activation-type s8 --symmetric-activations");
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(fs::exists(tmp / "b.mqm"));
}

TEST_CASE("cli: example models (cnn, mlp, lstm) quantize and compare on the test split") {
  const std::string models = kSource + "/examples/models/";
  const std::string data = kSource + "/examples/data/";
  if (!have(models + "cnn.onnx") || !have(data + "calib_images.npy") || !quantize_available()) {
    MESSAGE("skipped: examples/ not on this branch or quantize not available");
    return;
  }
  TempDir tmp;
  const std::string images = data + "test_images_u8.npy", labels = data + "test_labels.npy";
  struct Case {
    const char* model;
    const char* calib;
    const char* out;
  };
  for (const Case& c : {Case{"cnn.onnx", "calib_images.npy", "cnn.int8.onnx"},
                        Case{"mlp.onnx", "calib_images.npy", "mlp.int8.safetensors"},
                        Case{"lstm.onnx", "calib_sequences.npy", "lstm.int8.pt"}}) {
    CAPTURE(c.model);
    if (!have(models + c.model)) continue;
    auto r = run_cli("quantize " + q(models + c.model) + " --calib " + q(data + c.calib) + " -o " +
                     q(tmp / c.out) + " --report " + q(tmp / "r.json") + " --max-samples 256");
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(r.out.find("SQNR") != std::string::npos);
    std::ifstream f(tmp / "r.json");
    json j = json::parse(f);
    CHECK(j["passed"] == true);
    CHECK(j["validation_overlaps_calibration"] == false);
    CHECK(j["validation_samples"].get<int64_t>() == 32);
    CHECK(finite_number(j["model_sqnr_db"]));
    CHECK(j["size_before"].get<int64_t>() > 2 * j["size_after"].get<int64_t>());
    if (have(images) && have(labels)) {
      r = run_cli("compare " + q(models + c.model) + " " + q(tmp / c.out) + " --data " + q(images) + " --labels " +
                  q(labels) + " --scale 0.00392156862745098 -n 500 --json");
      INFO(r.err);
      REQUIRE(r.code == 0);
      json cj = parse_json(r.out);
      CHECK(cj["outputs"][0]["top1_agreement"].get<double>() > 0.9);
      CHECK(cj["accuracy"].get<double>() > 0.75);
      CHECK(cj["float_accuracy"].get<double>() > 0.75);
      CHECK(cj["layers"].size() >= 2);
      for (auto& l : cj["layers"]) CHECK(finite_number(l["sqnr_db"]));
    }
  }
}

TEST_CASE("cli: quantize error paths leave no output file") {
  if (!have(kMnist8) || !quantize_available()) {
    MESSAGE("skipped: mnist8 or quantize not available");
    return;
  }
  TempDir tmp;
  const std::string calib = kShared + "/models/mnist8/test_data_set_0";
  SUBCASE("no calibration data for static mode") {
    auto r = run_cli("quantize " + q(kMnist8) + " -o " + q(tmp / "x.mqm"));
    CHECK(r.code == 2);
    check_error_line(r);
  }
  SUBCASE("empty calibration folder") {
    fs::create_directory(tmp / "empty");
    auto r = run_cli("quantize " + q(kMnist8) + " --calib " + q(tmp / "empty") + " -o " + q(tmp / "x.mqm"));
    CHECK(r.code == 3);
    check_error_line(r);
    CHECK(listing(tmp.path()) == std::vector<std::string>{"empty"});
  }
  SUBCASE("missing calibration path") {
    auto r = run_cli("quantize " + q(kMnist8) + " --calib " + q(tmp / "nope") + " -o " + q(tmp / "x.mqm"));
    CHECK(r.code == 3);
    check_error_line(r);
  }
  SUBCASE("missing model") {
    auto r = run_cli("quantize " + q(tmp / "nope.onnx") + " --calib " + q(calib) + " -o " + q(tmp / "x.mqm"));
    CHECK(r.code == 3);
    check_error_line(r);
    CHECK(listing(tmp.path()).empty());
  }
  SUBCASE("output inside a folder that does not exist") {
    auto r = run_cli("quantize " + q(kMnist8) + " --calib " + q(calib) + " -o " + q(tmp / "no/such/x.mqm"));
    CHECK(r.code == 3);
    check_error_line(r);
    CHECK(listing(tmp.path()).empty());
  }
  SUBCASE("output under /proc") {
    auto r = run_cli("quantize " + q(kMnist8) + " --calib " + q(calib) + " -o /proc/mq_cli_test.mqm");
    CHECK(r.code == 3);
    check_error_line(r);
    CHECK_FALSE(fs::exists("/proc/mq_cli_test.mqm"));
  }
  SUBCASE("output equal to the input") {
    fs::copy_file(kMnist8, tmp / "model.onnx");
    auto before = fs::file_size(tmp / "model.onnx");
    auto r =
        run_cli("quantize " + q(tmp / "model.onnx") + " --calib " + q(calib) + " -o " + q(tmp / "model.onnx"));
    CHECK(r.code == 2);
    check_error_line(r);
    CHECK(r.err.find("overwrite") != std::string::npos);
    CHECK(fs::file_size(tmp / "model.onnx") == before);
    r = run_cli("quantize " + q(tmp / "model.onnx") + " --calib " + q(calib) + " -o " + q(tmp / "./model.onnx"));
    CHECK(r.code == 2);
  }
  SUBCASE("unknown output format") {
    auto r = run_cli("quantize " + q(kMnist8) + " --calib " + q(calib) + " -o " + q(tmp / "x.bin"));
    CHECK(r.code == 2);
    check_error_line(r);
  }
  SUBCASE("bad option values") {
    for (const char* bad : {"--mode fast", "--observer median", "--observer percentile:200", "--layers dense",
                            "--on-failure maybe", "--activation-type u16"}) {
      CAPTURE(bad);
      auto r = run_cli("quantize " + q(kMnist8) + " --calib " + q(calib) + " -o " + q(tmp / "x.mqm") + " " + bad);
      CHECK(r.code == 2);
      check_error_line(r);
    }
    CHECK(listing(tmp.path()).empty());
  }
  SUBCASE("validation failure: exit 1, no output, one 'validation failed' prefix") {
    for (const char* mode : {"static", "dynamic"}) {
      CAPTURE(mode);
      auto r = run_cli("quantize " + q(kMnist8) + " --calib " + q(calib) + " -o " + q(tmp / "x.mqm") + " --mode " +
                       mode + " --fail-below 200 --report " + q(tmp / "r.json"));
      CHECK(r.code == 1);
      check_error_line(r);
      CHECK(r.err.find("validation failed") != std::string::npos);
      CHECK(r.err.find("validation failed") == r.err.rfind("validation failed"));  // said once
      CHECK(listing(tmp.path()).empty());
    }
  }
}

TEST_CASE("cli: quantized models give bit-identical outputs on every forced ISA tier") {
  // The int8 kernels of every tier are exact and their float epilogues and LSTM gates do the
  // same operations, so `monoquant run` must write the same bytes whatever MONOQUANT_ISA
  // says (a tier the CPU lacks runs as the best one it has).
  const std::string models = kSource + "/examples/models/";
  const std::string data = kSource + "/examples/data/";
  if (!have(models + "cnn.onnx") || !quantize_available()) {
    MESSAGE("skipped: examples/ not on this branch or quantize not available");
    return;
  }
  TempDir tmp;
  struct Case {
    std::string model, calib, input, mode, name;
  };
  std::vector<Case> cases = {
      {models + "cnn.onnx", data + "calib_images.npy", data + "calib_images.npy", "static", "cnn"},
      {models + "mlp.onnx", data + "calib_images.npy", data + "calib_images.npy", "dynamic", "mlp_dyn"},
      {models + "lstm.onnx", data + "calib_sequences.npy", data + "calib_sequences.npy", "static", "lstm"},
      {models + "lstm.onnx", data + "calib_sequences.npy", data + "calib_sequences.npy", "dynamic", "lstm_dyn"}};
  const std::string sr = kShared + "/models/super_resolution/";
  if (have(sr + "model.onnx")) {  // 64-channel 3×3 convs: the direct AMX path where there is AMX
    mq::Graph g = mq::load_model(sr + "model.onnx");
    mq::FileSource src(g, {sr + "test_data_set_0"});
    auto sample = src.next();
    REQUIRE(sample.has_value());
    const std::string npy = tmp / "sr_input.npy";
    mq::serialization::save_npy(npy, sample->begin()->second);
    cases.push_back({sr + "model.onnx", sr + "test_data_set_0", npy, "static", "super_resolution"});
  }
  const char* old = std::getenv("MONOQUANT_ISA");
  const std::string saved = old ? old : "";
  for (const Case& c : cases) {
    CAPTURE(c.name);
    const std::string q8 = tmp / (c.name + ".int8.mqm");
    auto r = run_cli("quantize " + q(c.model) + " --mode " + c.mode +
                     (c.mode == "static" ? " --calib " + q(c.calib) + " --max-samples 64" : std::string()) +
                     " -o " + q(q8));
    INFO(r.err);
    REQUIRE(r.code == 0);
    std::string first;
    for (mq::kernels::Isa tier : mq::kernels::isa_tiers) {
      const std::string isa = mq::kernels::isa_name(tier);
      CAPTURE(isa);
      ::setenv("MONOQUANT_ISA", isa.c_str(), 1);
      const std::string out = tmp / (c.name + "_" + isa + ".npz");
      auto rr = run_cli("run " + q(q8) + " --input " + q(c.input) + " --output " + q(out));
      INFO(rr.err);
      REQUIRE(rr.code == 0);
      std::ifstream f(out, std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      REQUIRE(bytes.size() > 100);
      if (first.empty()) first = bytes;
      else CHECK(bytes == first);
    }
  }
  if (old) ::setenv("MONOQUANT_ISA", saved.c_str(), 1);
  else ::unsetenv("MONOQUANT_ISA");
}

TEST_CASE("cli: an output that is an input, or absurd --threads, is a usage error (exit 2)") {
  TempDir tmp;
  mq::test::write_file(tmp / "mlp.onnx", mq::test::onnx_mlp_model(8, 4));
  mq::serialization::save_npy(tmp / "x.npy", mq::Tensor(mq::DType::f32, {3, 8}));
  const auto before = fs::file_size(tmp / "x.npy");
  for (const std::string& in : {q(tmp / "x.npy"), "X=" + q(tmp / "x.npy")}) {
    auto r = run_cli("run " + q(tmp / "mlp.onnx") + " -i " + in + " -o " + q(tmp / "x.npy"));
    CHECK(r.code == 2);
    CHECK(r.err.find("overwrite") != std::string::npos);
    check_error_line(r);
  }
  // the same file by another name
  auto r = run_cli("run " + q(tmp / "mlp.onnx") + " -i " + q(tmp / "x.npy") + " -o " + q(tmp / "./sub/../x.npy"));
  CHECK(r.code == 2);
  CHECK(fs::file_size(tmp / "x.npy") == before);
  r = run_cli("run " + q(tmp / "mlp.onnx") + " -i " + q(tmp / "x.npy") + " -o " + q(tmp / "mlp.onnx"));
  CHECK(r.code == 2);

  r = run_cli("run " + q(tmp / "mlp.onnx") + " -i " + q(tmp / "x.npy") + " --threads 100000");
  CHECK(r.code == 2);
  CHECK(r.err.find("--threads") != std::string::npos);
  check_error_line(r);
  r = run_cli("bench " + q(tmp / "mlp.onnx") + " -n 1 --threads 100000");
  CHECK(r.code == 2);
}

TEST_CASE("cli: quantize a streaming model, its state fed back with --state") {
  if (!quantize_available()) return;
  TempDir tmp;
  // x[batch,8] and a state h[1,4] (no batch axis): y = fc(x) + fc_h(h), h_next = 0.5 h + mean-free fc(x)
  mq::Graph g;
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.f, 0.4f);
  auto rnd = [&](std::vector<int64_t> dims) {
    mq::Tensor t(mq::DType::f32, dims);
    for (auto& v : t.span<float>()) const_cast<float&>(v) = nd(rng);
    return t;
  };
  mq::Value* x = g.add_input("x", {mq::DType::f32, mq::Shape({mq::Dim::sym("batch"), mq::Dim(8)}), {}});
  mq::Value* h = g.add_input("h", {mq::DType::f32, mq::Shape({mq::Dim(1), mq::Dim(4)}), {}});
  mq::Node* fx = g.add_node(mq::OpKind::Linear, {.name = "fc", .inputs = {x, g.add_constant("w", rnd({4, 8}))}});
  mq::Node* fh =
      g.add_node(mq::OpKind::Linear, {.name = "fc_h", .inputs = {h, g.add_constant("wh", rnd({4, 4}))}});
  mq::Node* y = g.add_node(mq::OpKind::Add,
                           {.name = "sum", .inputs = {fx->output(0), fh->output(0)}, .output_names = {"y"}});
  mq::Node* hn =
      g.add_node(mq::OpKind::Tanh, {.name = "next", .inputs = {y->output(0)}, .output_names = {"h_next"}});
  g.add_output(y->output(0));
  g.add_output(hn->output(0));
  mq::save_model(g, tmp / "cell.mqm");
  mq::serialization::save_npz(tmp / "chunks.npz", {{"x", rnd({40, 8})}});

  // without the link the state input has no data: one error naming it
  auto r =
      run_cli("quantize " + q(tmp / "cell.mqm") + " --calib " + q(tmp / "chunks.npz") + " -o " + q(tmp / "q.mqm"));
  CHECK(r.code == 3);
  check_error_line(r);
  CHECK(r.err.find("'h'") != std::string::npos);
  CHECK_FALSE(fs::exists(tmp / "q.mqm"));

  r = run_cli("quantize " + q(tmp / "cell.mqm") + " --calib " + q(tmp / "chunks.npz") + " --state h_next=h -o " +
              q(tmp / "q.mqm") + " --validation-samples 8 --json");
  INFO(r.err);
  REQUIRE(r.code == 0);
  json j = parse_json(r.out);
  CHECK(j["calibration_samples"] == 32);
  CHECK(j["validation_samples"] == 8);
  CHECK(j["passed"] == true);

  r = run_cli("quantize " + q(tmp / "cell.mqm") + " --calib " + q(tmp / "chunks.npz") + " --state h_next -o " +
              q(tmp / "q2.mqm"));
  CHECK(r.code == 2);
  CHECK(r.err.find("expected OUTPUT=INPUT") != std::string::npos);
  r = run_cli("quantize " + q(tmp / "cell.mqm") + " --calib " + q(tmp / "chunks.npz") + " --state y=x -o " +
              q(tmp / "q2.mqm"));
  CHECK(r.code == 3);
  check_error_line(r);
}

TEST_CASE("cli: quantizing a model that is quantized already says so; --requantize quantizes it again") {
  if (!have(kMnist8) || !quantize_available()) {
    MESSAGE("skipped: mnist8 or quantize not available");
    return;
  }
  TempDir tmp;
  const std::string calib = kShared + "/models/mnist8/test_data_set_0";
  auto r = run_cli("quantize " + q(kMnist8) + " --calib " + q(calib) + " -o " + q(tmp / "m.int8.onnx") +
                   " --quiet --on-failure warn");
  INFO(r.err);
  REQUIRE(r.code == 0);
  // the QDQ file runs on the int8 kernels: inspect counts its convolutions as quantized layers
  auto ins = run_cli("inspect " + q(tmp / "m.int8.onnx") + " --json");
  REQUIRE(ins.code == 0);
  CHECK(parse_json(ins.out)["quantized_layers"].get<int64_t>() >= 2);
  r = run_cli("quantize " + q(tmp / "m.int8.onnx") + " --calib " + q(calib) + " -o " + q(tmp / "again.mqm"));
  CHECK(r.code == 3);
  CHECK(r.err.find("already quantized") != std::string::npos);
  CHECK(r.err.find("--requantize") != std::string::npos);
  CHECK_FALSE(fs::exists(tmp / "again.mqm"));
  r = run_cli("quantize " + q(tmp / "m.int8.onnx") + " --calib " + q(calib) + " -o " + q(tmp / "again.mqm") +
              " --requantize --on-failure warn");
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(fs::exists(tmp / "again.mqm"));
}

TEST_CASE("cli: --layers matmul quantizes attention's activation products; inspect names their pattern") {
  if (!quantize_available()) return;
  TempDir tmp;
  mq::save_model(mq::test::attention_block(), tmp / "attention.onnx");  // x [2,6,16]
  std::mt19937 rng(3);
  mq::serialization::save_npy(tmp / "calib.npy", mq::test::random_tensor({16, 6, 16}, rng));
  auto r = run_cli("quantize " + q(tmp / "attention.onnx") + " --calib " + q(tmp / "calib.npy") + " -o " +
                   q(tmp / "a.mqm") + " --layers matmul --json --quiet --on-failure warn");
  INFO(r.err);
  REQUIRE(r.code == 0);
  json j = parse_json(r.out);
  std::set<std::string> names;
  for (auto& l : j["layers"]) {
    CAPTURE(l.dump());
    if (l["pattern"] != "matmul") {  // the Linear layers are listed, not selected
      CHECK(l["quantized"] == false);
      continue;
    }
    CHECK(l["quantized"] == true);
    names.insert(l["name"].get<std::string>());
  }
  CHECK(names == std::set<std::string>{"scores", "context"});

  r = run_cli("inspect " + q(tmp / "a.mqm") + " --json");
  REQUIRE(r.code == 0);
  j = parse_json(r.out);
  int products = 0;
  for (auto& l : j["layers"]) {
    if (l.value("pattern", "") != "matmul") continue;
    ++products;
    CHECK(l["quantized"] == true);
    CHECK(l["scheme"].get<std::string>().find(" b:u8") != std::string::npos);
  }
  CHECK(products == 2);
  r = run_cli("inspect " + q(tmp / "a.mqm"));
  CHECK(r.out.find("matmul") != std::string::npos);

  // excluded by name, scores stays a float MatMul
  r = run_cli("quantize " + q(tmp / "attention.onnx") + " --calib " + q(tmp / "calib.npy") + " -o " +
              q(tmp / "b.mqm") + " --exclude scores --json --quiet --on-failure warn");
  REQUIRE(r.code == 0);
  j = parse_json(r.out);
  for (auto& l : j["layers"])
    if (l["name"] == "scores") CHECK(l["quantized"] == false);
}
