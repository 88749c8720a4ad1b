// Interop with torch.load / torch.save (tests/interop/check_torch.py).
#include <fstream>

#include "interop_util.h"
#include "serialization/json_util.h"
#include "serialization/serialization.h"
#include "serialization/torch_zip.h"

using namespace mq;
using namespace mq::serialization;

namespace {
Tensor quantized(Tensor t, QuantParams q) {
  t.set_quant(std::move(q));
  return t;
}
}  // namespace

TEST_CASE("interop: torch.load reads our .pt files, we read torch.save files") {
  MQ_REQUIRE_INTEROP_PYTHON(python);
  test::TempDir dir;
  Graph g = test::make_quantized_mlp();
  save_graph(g, dir / "model.pt");
  const Tensor& w = *g.find_value("fc.weight")->constant();
  test::expect_npy(dir, "fc.weight", w);
  test::expect_npy(dir, "fc.weight.scale", Tensor::from_vector<float>({3}, w.quant()->scales));
  test::expect_npy(dir, "fc.weight.zero_point", Tensor::from_vector<int32_t>({3}, w.quant()->zero_points));
  test::expect_npy(dir, "fc.bias", *g.find_value("fc.bias")->constant());

  std::vector<std::pair<std::string, Tensor>> ts;
  std::vector<uint8_t> u8v(24);
  for (size_t i = 0; i < u8v.size(); ++i) u8v[i] = uint8_t(i * 11);
  ts.emplace_back("q_u8",
                  quantized(Tensor::from_vector<uint8_t>({2, 3, 2, 2}, u8v), {{0.02f}, {128}, {}, DType::u8}));
  ts.emplace_back("q_i8",
                  quantized(Tensor::from_vector<int8_t>({4}, {-128, -1, 0, 127}), {{0.5f}, {-3}, {}, DType::i8}));
  ts.emplace_back("q_i8_axis1", quantized(Tensor::from_vector<int8_t>({2, 2}, {1, 2, 3, 4}),
                                          {{0.5f, 0.25f}, {0, 1}, int64_t(1), DType::i8}));
  ts.emplace_back("f64", Tensor::from_vector<double>({2, 2}, {1.5, -2.5, 1e300, 0}));
  ts.emplace_back("i64", Tensor::from_vector<int64_t>({3}, {1LL << 40, -5, 0}));
  ts.emplace_back("i32", Tensor::from_vector<int32_t>({1, 1, 1, 1, 2}, {7, -7}));
  ts.emplace_back("i16", Tensor::from_vector<int16_t>({2}, {-300, 300}));
  ts.emplace_back("u8", Tensor::from_vector<uint8_t>({2}, {0, 255}));
  ts.emplace_back("i8", Tensor::from_vector<int8_t>({2}, {-1, 1}));
  ts.emplace_back("bool", Tensor::from_vector<bool>({3}, {true, false, true}));
  ts.emplace_back("scalar", Tensor::scalar<float>(4.25f));
  ts.emplace_back("empty", Tensor(DType::f32, {0, 3}));
  save_torch_state_dict(dir / "tensors.pt", ts);
  serialization::detail::json spec = serialization::detail::json::array();
  for (auto& [name, t] : ts) {
    serialization::detail::json s{{"name", name}};
    if (t.quant()) {
      s["torch_dtype"] = t.dtype() == DType::i8 ? "qint8" : "quint8";
      s["qscheme"] = t.quant()->axis ? "per_channel_affine" : "per_tensor_affine";
      s["scale"] = t.quant()->scales[0];
      s["zero_point"] = t.quant()->zero_points[0];
    }
    spec.push_back(s);
    test::expect_npy(dir, name, t);
  }
  std::ofstream(dir / "tensors.json") << spec.dump();

  MQ_RUN_INTEROP(python, "check_torch.py", dir);

  // What torch.save wrote
  TorchArchive a = load_torch_state_dict(dir / "python_written.pt");
  auto info = serialization::detail::parse_json_strict(
      [&] {
        auto b = read_file(dir / "py_expect/quant.json");
        return std::string(reinterpret_cast<const char*>(b.data()), b.size());
      }(),
      "quant.json");
  REQUIRE(a.tensors.size() == 9);
  for (auto& [name, t] : a.tensors) {
    INFO(name);
    Tensor e = load_npy(dir / ("py_expect/" + name + ".npy"));
    Tensor plain = t;
    plain.set_quant(std::nullopt);
    CHECK(plain == e);
    if (info.contains(name)) {
      REQUIRE(t.quant());
      auto& qi = info[name];
      if (qi["scheme"] == "torch.per_tensor_affine") {
        CHECK(t.quant()->scales[0] == float(qi["scale"].get<double>()));
        CHECK(t.quant()->zero_points[0] == qi["zero_point"].get<int>());
        CHECK(!t.quant()->axis);
      } else {
        CHECK(t.quant()->axis == qi["axis"].get<int64_t>());
        CHECK(t.quant()->zero_points == qi["zero_points"].get<std::vector<int32_t>>());
        CHECK(t.quant()->scales[2] == float(qi["scales"][2].get<double>()));
      }
    } else {
      CHECK(!t.quant());
    }
  }
  TorchArchive sd = load_torch_state_dict(dir / "python_state_dict.pt");
  REQUIRE(sd.tensors.size() == 2);
  CHECK(sd.tensors[0].first == "weight");
  CHECK(sd.tensors[0].second.dims() == std::vector<int64_t>{3, 4});
}
