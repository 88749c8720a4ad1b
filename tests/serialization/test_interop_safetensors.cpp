// Interop with numpy and the safetensors package (tests/interop/check_numpy_safetensors.py).
#include "interop_util.h"
#include "serialization/npy.h"
#include "serialization/safetensors.h"
#include "serialization/serialization.h"

using namespace mq;
using namespace mq::serialization;

TEST_CASE("interop: numpy and safetensors read our files, we read theirs") {
  MQ_REQUIRE_INTEROP_PYTHON(python);
  test::TempDir dir;
  Tensor f32 = Tensor::from_vector<float>({2, 3}, {1.f, -2.5f, 3.25f, 0.f, 1e-3f, 7.f});
  Tensor i64 = Tensor::from_vector<int64_t>({4}, {1, -2, 1LL << 40, 0});
  Tensor u8 = Tensor::from_vector<uint8_t>({2, 2, 1}, {0, 255, 7, 128});
  Tensor bl = Tensor::from_vector<bool>({3}, {true, false, true});
  for (auto& [n, t] :
       std::vector<std::pair<std::string, Tensor>>{{"f32", f32}, {"i64", i64}, {"u8", u8}, {"bool", bl}}) {
    save_npy(dir / ("mq_" + n + ".npy"), t);
    test::expect_npy(dir, n, t);
  }
  save_npz(dir / "mq.npz", {{"a", f32}, {"b", i64}});

  Graph g = test::make_quantized_mlp();
  save_safetensors_model(g, dir / "model.safetensors");
  const Tensor& w = *g.find_value("fc.weight")->constant();
  test::expect_npy(dir, "fc.weight", w);
  test::expect_npy(dir, "fc.weight.scale", Tensor::from_vector<float>({3}, w.quant()->scales));
  test::expect_npy(dir, "fc.weight.zero_point", Tensor::from_vector<int32_t>({3}, w.quant()->zero_points));
  test::expect_npy(dir, "fc.bias", *g.find_value("fc.bias")->constant());

  MQ_RUN_INTEROP(python, "check_numpy_safetensors.py", dir);

  // What the Python libraries wrote
  Tensor a = load_npy(dir / "python_written.npy");
  REQUIRE(a.dims() == std::vector<int64_t>{3, 4});
  CHECK(a.data<float>()[5] == 1.25f);
  auto z = load_npz(dir / "python_written.npz");
  CHECK(z.at("x").to_int64() == std::vector<int64_t>{0, 1, 2, 3, 4, 5});
  CHECK(z.at("y").dtype() == DType::boolean);
  auto zc = load_npz(dir / "python_compressed.npz");
  CHECK(zc.at("x").to_int64() == std::vector<int64_t>{0, 1, 2, 3, 4, 5});

  auto c = load_safetensors(dir / "python_written.safetensors");
  CHECK(c.metadata.at("producer") == "python");
  CHECK(c.tensors.at("step").rank() == 0);
  CHECK(c.tensors.at("step").to_int64()[0] == 7);
  CHECK(c.tensors.at("half").dtype() == DType::f16);
  CHECK(c.tensors.at("mask").to_int64() == std::vector<int64_t>{1, 0, 0, 1});
  Graph fm = test::make_float_mlp();
  WeightsReport rep = load_safetensors_weights(fm, dir / "python_written.safetensors");
  CHECK(rep.replaced.size() == 3);
  CHECK(fm.find_value("fc.weight")->constant()->to_float()[0] == -0.75f);
  CHECK(fm.find_value("offset")->constant()->to_float()[2] == 0.125f);
}
