// The public C++ API (include/monoquant/), built as C++17 and linked only against
// monoquant::monoquant, on the bundled example models.
#include <doctest/doctest.h>
#include <monoquant/monoquant.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <type_traits>

static_assert(__cplusplus < 202002L, "this suite checks the public API compiles as C++17");

namespace {

std::string examples() { return std::string(MQ_SOURCE_DIR) + "/examples"; }
std::string cnn() { return examples() + "/models/cnn.onnx"; }

std::filesystem::path temp_dir(const std::string& name) {
  auto p = std::filesystem::path(MQ_BINARY_DIR) / "test_api_tmp" / name;
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

/// The first batch of `n` calibration images.
mq::TensorMap images(const mq::Model& m, int64_t n) {
  mq::DataSource d = mq::DataSource::files(m, {examples() + "/data/calib_images.npy"}, n);
  return *d.next();
}

template <class Fn>
mq::Error error_of(Fn&& fn) {
  try {
    fn();
  } catch (const mq::Error& e) {
    return e;
  }
  FAIL("no mq::Error thrown");
  return mq::Error(mq::ErrorKind::other, "");
}

}  // namespace

TEST_CASE("version macros and mq::version() agree") {
  CHECK(std::string(mq::version()) == MONOQUANT_VERSION_STRING);
  CHECK(std::string(MONOQUANT_VERSION_STRING) == std::to_string(MONOQUANT_VERSION_MAJOR) + "." +
                                                     std::to_string(MONOQUANT_VERSION_MINOR) + "." +
                                                     std::to_string(MONOQUANT_VERSION_PATCH));
}

TEST_CASE("Tensor: views share caller memory, allocate owns zeroed memory") {
  std::vector<float> buf{1, 2, 3, 4, 5, 6};
  mq::Tensor v = mq::Tensor::view<float>({2, 3}, buf.data());
  CHECK(v.is_view());
  CHECK(v.data<float>() == buf.data());
  CHECK(v.numel() == 6);
  CHECK(v.nbytes() == 24);
  mq::Tensor c = v.clone();
  CHECK_FALSE(c.is_view());
  CHECK(c.to_vector<float>() == buf);
  buf[0] = 42;
  CHECK(c.data<float>()[0] == 1);
  mq::Tensor a = mq::Tensor::allocate(mq::DType::i32, {4});
  CHECK(a.to_vector<int32_t>() == std::vector<int32_t>{0, 0, 0, 0});
  CHECK(error_of([&] { (void)v.data<int8_t>(); }).kind() == mq::ErrorKind::invalid_argument);
  CHECK(error_of([&] { mq::Tensor::from_vector<float>({2, 2}, {1, 2, 3}); }).kind() == mq::ErrorKind::shape);
  CHECK(error_of([&] { mq::Tensor::view(mq::DType::f32, {-1}, buf.data()); }).kind() ==
        mq::ErrorKind::invalid_argument);
}

TEST_CASE("Model: load, input/output info, save and load again") {
  mq::Model m = mq::Model::load(cnn());
  REQUIRE(m.inputs().size() == 1);
  const mq::TensorInfo in = m.inputs()[0];
  CHECK(in.name == "input");
  CHECK(in.dtype == mq::DType::f32);
  REQUIRE(in.dims.size() == 4);
  CHECK(in.dims[0] == -1);  // the batch dim is symbolic
  CHECK_FALSE(in.dim_names[0].empty());
  CHECK(in.dims[1] == 1);
  CHECK(in.dims[2] == 28);
  REQUIRE(m.outputs().size() == 1);
  CHECK(m.node_count() > 0);
  CHECK(m.op_counts().count("Conv2d") == 1);

  auto dir = temp_dir("model");
  m.save((dir / "cnn.mqm").string());
  mq::Model r = mq::Model::load((dir / "cnn.mqm").string());
  CHECK(r.node_count() == m.node_count());
  CHECK(r.outputs()[0].name == m.outputs()[0].name);
}

TEST_CASE("Session: runs views in place, outputs into caller buffers") {
  mq::Model m = mq::Model::load(cnn());
  mq::TensorMap batch = images(m, 4);
  const mq::Tensor& x = batch.at("input");
  std::vector<float> mine(x.data<float>(), x.data<float>() + x.numel());
  mq::Session s(m, {2});
  CHECK(s.threads() == 2);
  CHECK(s.inputs()[0].name == "input");
  const std::string out_name = s.outputs()[0].name;

  mq::TensorMap out = s.run({{"input", mq::Tensor::view<float>(x.dims(), mine.data())}});
  REQUIRE(out.count(out_name) == 1);
  const mq::Tensor& logits = out.at(out_name);
  CHECK(logits.dims() == std::vector<int64_t>{4, 10});
  CHECK_FALSE(logits.is_view());
  CHECK(mine == std::vector<float>(x.data<float>(), x.data<float>() + x.numel()));  // input untouched

  std::vector<float> dst(40, -1.f);
  mq::TensorMap into{{out_name, mq::Tensor::view<float>({4, 10}, dst.data())}};
  s.run(batch, into);
  CHECK(into.at(out_name).data<float>() == dst.data());
  CHECK(dst == logits.to_vector<float>());

  std::vector<float> wrong(10);
  mq::TensorMap bad{{out_name, mq::Tensor::view<float>({1, 10}, wrong.data())}};
  mq::Error e = error_of([&] { s.run(batch, bad); });
  CHECK(e.kind() == mq::ErrorKind::shape);
  CHECK(e.field() == out_name);
}

TEST_CASE("errors: one type with kind, file, node and field") {
  auto dir = temp_dir("errors");
  mq::Error missing = error_of([&] { mq::Model::load((dir / "none.onnx").string()); });
  CHECK(missing.file() == (dir / "none.onnx").string());
  CHECK((missing.kind() == mq::ErrorKind::io || missing.kind() == mq::ErrorKind::format));

  std::string junk = (dir / "junk.onnx").string();
  std::ofstream(junk) << "not a model";
  mq::Error bad = error_of([&] { mq::Model::load(junk); });
  CHECK(bad.kind() == mq::ErrorKind::format);
  CHECK(bad.file() == junk);
  CHECK(std::string(bad.what()).rfind(junk + ": ", 0) == 0);

  mq::Model m = mq::Model::load(cnn());
  mq::Session s(m);
  mq::Error in = error_of([&] { s.run({}); });
  CHECK(in.kind() == mq::ErrorKind::invalid_argument);
  CHECK(in.field() == "input");

  // an error inside a node names it
  mq::SessionOptions tiny;
  tiny.max_tensor_bytes = 64;
  tiny.optimize = false;  // the graph as loaded: the first node to run is the first Conv
  mq::Session limited(m, tiny);
  mq::Error in_node = error_of([&] { limited.run(images(m, 2)); });
  CHECK(in_node.kind() == mq::ErrorKind::shape);
  CHECK(in_node.node() == "/conv1/Conv");
  CHECK(std::string(in_node.what()).find("max_tensor_bytes") != std::string::npos);

  std::vector<float> small(3);
  mq::Error shape = error_of([&] { s.run({{"input", mq::Tensor::view<float>({3}, small.data())}}); });
  CHECK(shape.kind() != mq::ErrorKind::other);
  CHECK(std::string(mq::error_kind_name(mq::ErrorKind::validation)) == "validation");

  // calibration data that does not fit the model: the error names the file
  std::string seq = examples() + "/data/calib_sequences.npy";
  mq::Error data = error_of([&] { mq::DataSource::files(m, {seq}); });
  CHECK(data.file() == seq);
  CHECK(std::string(data.what()).find("input") != std::string::npos);
}

TEST_CASE("calibrate from tensors and from a callback; static quantize with options and report") {
  mq::Model m = mq::Model::load(cnn());
  mq::TensorMap b1 = images(m, 32);
  std::vector<mq::TensorMap> batches{b1};
  mq::Calibration from_tensors = mq::calibrate(m, batches);
  CHECK(from_tensors.samples() == 32);
  CHECK_FALSE(from_tensors.values().empty());

  int calls = 0;
  mq::DataSource cb = mq::DataSource::callback([&]() -> std::optional<mq::TensorMap> {
    if (calls++ >= 2) return std::nullopt;
    return b1;
  });
  mq::CalibrationOptions copt;
  copt.observer.kind = mq::ObserverKind::percentile;
  copt.observer.percentile = 99.9;
  mq::Calibration from_callback = mq::calibrate(m, cb, copt);
  CHECK(from_callback.samples() == 64);

  // the auto observer through the public API: it calibrates and quantizes like any other
  mq::CalibrationOptions auto_opt;
  auto_opt.observer.kind = mq::ObserverKind::auto_select;
  mq::Calibration automatic = mq::calibrate(m, batches, auto_opt);
  CHECK(automatic.values() == from_tensors.values());
  mq::QuantizeOptions auto_q;
  auto_q.validate = false;
  CHECK_FALSE(mq::static_quantize(m, automatic, auto_q).report.layers.empty());

  auto dir = temp_dir("calib");
  from_tensors.save((dir / "cal.json").string());
  mq::Calibration reloaded = mq::Calibration::load((dir / "cal.json").string());
  CHECK(reloaded.values() == from_tensors.values());

  mq::DataSource validation = mq::DataSource::tensors({images(m, 16)});
  mq::QuantizeOptions qopt;
  qopt.per_channel_weights = false;
  qopt.validation_samples = 16;
  mq::QuantizeResult q = mq::static_quantize(m, reloaded, qopt, &validation);
  REQUIRE_FALSE(q.report.layers.empty());
  CHECK(q.report.mode == "static");
  CHECK(q.report.passed());
  CHECK(q.report.size_after < q.report.size_before);
  CHECK(q.report.compression() > 2.0);
  REQUIRE(q.report.outputs.size() == 1);
  CHECK(q.report.outputs[0].sqnr_db > 10.0);
  int quantized = 0;
  for (const mq::LayerReport& l : q.report.layers) {
    quantized += l.quantized;
    if (l.quantized && (l.pattern == "conv2d" || l.pattern == "linear"))
      CHECK(l.scheme.find("tensor") != std::string::npos);
  }
  CHECK(quantized == int(q.report.layers.size()));
  CHECK(q.report.json().find("\"layers\"") != std::string::npos);
  CHECK(q.report.table().find(q.report.layers[0].name) != std::string::npos);
  CHECK(q.model.op_counts().count("QConv2d") == 1);

  // int8 outputs: the classifier head is static (an int8 result dequantized at the end)
  mq::QuantizeOptions head;
  head.validate = false;
  const auto plain_ops = mq::static_quantize(m, reloaded, head).model.op_counts();
  head.int8_outputs = true;
  const auto int8_ops = mq::static_quantize(m, reloaded, head).model.op_counts();
  CHECK(plain_ops.count("DynamicQLinear") == 1);
  CHECK(int8_ops.count("DynamicQLinear") == 0);
  CHECK(int8_ops.at("QLinear") == 2);

  // layer selection: excluding every layer leaves the model float
  mq::QuantizeOptions none;
  none.layers.exclude = {"*"};
  none.validate = false;
  mq::QuantizeResult f = mq::static_quantize(m, reloaded, none);
  for (const mq::LayerReport& l : f.report.layers) CHECK_FALSE(l.quantized);
  CHECK(f.model.op_counts().count("QConv2d") == 0);

  // quantized model runs, also on caller memory that is not 64-byte aligned (read in place)
  mq::Session s(q.model);
  mq::TensorMap four = images(m, 4);
  mq::TensorMap out = s.run(four);
  CHECK(out.begin()->second.dims() == std::vector<int64_t>{4, 10});
  const mq::Tensor& x = four.at("input");
  std::vector<float> shifted(size_t(x.numel()) + 1);
  std::copy(x.data<float>(), x.data<float>() + x.numel(), shifted.begin() + 1);
  mq::TensorMap again = s.run({{"input", mq::Tensor::view<float>(x.dims(), shifted.data() + 1)}});
  CHECK(again.begin()->second.to_vector<float>() == out.begin()->second.to_vector<float>());
  for (const char* ext : {".mqm", ".safetensors", ".pt", ".onnx"}) {
    q.model.save((dir / (std::string("q") + ext)).string());
    CHECK(std::filesystem::file_size(dir / (std::string("q") + ext)) > 0);
  }
}

TEST_CASE("dynamic quantize, s8 activations and min_sqnr_db") {
  mq::Model m = mq::Model::load(examples() + "/models/mlp.onnx");
  mq::QuantizeOptions s8;
  s8.activation_type = mq::DType::i8;
  s8.validate = false;
  mq::QuantizeResult qs8 = mq::static_quantize(m, mq::calibrate(m, {images(m, 32)}), s8);
  const auto first = std::find_if(qs8.report.layers.begin(), qs8.report.layers.end(),
                                  [](const mq::LayerReport& l) { return l.pattern == "linear"; });
  REQUIRE(first != qs8.report.layers.end());
  CAPTURE(first->scheme);
  CHECK(first->scheme.find("a:i8") != std::string::npos);
  mq::QuantizeOptions o;
  o.validate = false;
  mq::QuantizeResult q = mq::dynamic_quantize(m, o);
  CHECK(q.report.mode == "dynamic");
  int quantized = 0;
  for (const mq::LayerReport& l : q.report.layers) quantized += l.quantized;
  CHECK(quantized > 0);
  CHECK(q.model.dequantized().op_counts().count("QLinear") == 0);

  mq::Model c = mq::Model::load(cnn());
  mq::Calibration cal = mq::calibrate(c, {images(c, 32)});
  mq::DataSource validation = mq::DataSource::tensors({images(c, 16)});
  mq::QuantizeOptions strict;
  strict.min_sqnr_db = 200.0;  // unreachable: every layer falls back to float
  strict.on_failure = mq::OnFailure::ignore;
  strict.validation_samples = 16;
  mq::QuantizeResult fb = mq::static_quantize(c, cal, strict, &validation);
  CHECK_FALSE(fb.report.fallback_layers.empty());

  mq::QuantizeOptions failing;
  failing.fail_below_sqnr_db = 500.0;
  failing.validation_samples = 16;
  mq::Error e = error_of([&] { mq::static_quantize(c, cal, failing, &validation); });
  CHECK(e.kind() == mq::ErrorKind::validation);
  // one "validation failed" prefix, however the message is wrapped
  const std::string what = e.what();
  CAPTURE(what);
  CHECK(what.find("validation failed") != std::string::npos);
  CHECK(what.find("validation failed") == what.rfind("validation failed"));
}
