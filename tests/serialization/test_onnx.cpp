// ONNX: TensorProto reading, QDQ export (structure here, execution in the interop test).
#include "interop_util.h"
#include "serialization/onnx_tensor.h"
#include "serialization/serialization.h"

using namespace mq;
using namespace mq::serialization;

namespace {
// x[2,4] → Linear(DequantizeLinear(int8 per-channel weight), f32 bias) [u8 activation QDQ]
// → Relu → y
Graph make_qdq_graph() {
  Graph g;
  g.name = "q";
  Value* x = g.add_input("x", {DType::f32, Shape{2, 4}, std::nullopt});
  std::vector<int8_t> wv;
  for (int i = 0; i < 12; ++i) wv.push_back(int8_t(i * 19 - 110));
  Tensor w = Tensor::from_vector<int8_t>({3, 4}, wv);
  w.set_quant(QuantParams{{0.01f, 0.02f, 0.03f}, {0, 0, 0}, 0, DType::i8});
  Value* wc = g.add_constant("fc.weight", w);
  Value* ws = g.add_constant("fc.weight_scale", Tensor::from_vector<float>({3}, w.quant()->scales));
  Value* wz = g.add_constant("fc.weight_zero_point", Tensor::from_vector<int8_t>({3}, {0, 0, 0}));
  Attributes axis0;
  axis0.set("axis", int64_t(0));
  Node* dq = g.add_node(OpKind::DequantizeLinear, {"fc.weight_dq", {wc, ws, wz}, axis0, 1, {"fc.weight_f"}});
  Value* b = g.add_constant("fc.bias", Tensor::from_vector<float>({3}, {0.1f, -0.2f, 0.3f}));
  Node* lin = g.add_node(OpKind::Linear, {"fc", {x, dq->output(0), b}, {}, 1, {"h"}});
  lin->output(0)->set_quant(QuantParams{{0.05f}, {128}, std::nullopt, DType::u8});
  Node* relu = g.add_node(OpKind::Relu, {"act", {lin->output(0)}, {}, 1, {"y"}});
  g.add_output(relu->output(0));
  return g;
}
}  // namespace

TEST_CASE("onnx: TensorProto files from the ONNX test data") {
  std::string pb = "/usr/share/libonnx-testdata/data/node/test_relu/test_data_set_0/input_0.pb";
  if (!std::filesystem::exists(pb)) {
    MESSAGE("skipped: libonnx-testdata is not installed");
    return;
  }
  Tensor t = load_onnx_tensor(pb);
  CHECK(t.dtype() == DType::f32);
  CHECK(t.dims() == std::vector<int64_t>{3, 4, 5});
  test::TempDir dir;
  test::write_bytes(dir / "junk.pb", test::bytes_of("\xff\xff\xff\xff garbage"));
  test::expect_error<FormatError>([&] { load_onnx_tensor(dir / "junk.pb"); }, {"junk.pb", "TensorProto"});
  auto bytes = read_file(pb);
  bytes.resize(bytes.size() - 7);
  test::write_bytes(dir / "cut.pb", bytes);
  test::expect_error<FormatError>([&] { load_onnx_tensor(dir / "cut.pb"); }, {"cut.pb"});
}

TEST_CASE("onnx export: QDQ structure and errors") {
  test::TempDir dir;
  save_graph(make_qdq_graph(), dir / "q.onnx");
  auto b = read_file(dir / "q.onnx");
  std::string s(reinterpret_cast<const char*>(b.data()), b.size());
  CHECK(s.find("DequantizeLinear") != std::string::npos);
  CHECK(s.find("QuantizeLinear") != std::string::npos);
  CHECK(s.find("Gemm") != std::string::npos);
}

TEST_CASE("interop: onnxruntime runs our QDQ exports; we read onnx TensorProtos") {
  MQ_REQUIRE_INTEROP_PYTHON(python);
  test::TempDir dir;
  Graph f = test::make_float_mlp();
  export_onnx(f, dir / "float.onnx");
  test::expect_npy(dir, "float.w", *f.find_value("fc.weight")->constant());
  test::expect_npy(dir, "float.b", *f.find_value("fc.bias")->constant());
  test::expect_npy(dir, "float.offset", *f.find_value("offset")->constant());
  std::vector<float> xv;
  for (int i = 0; i < 8; ++i) xv.push_back(float(i) * 0.7f - 2.f);
  test::expect_npy(dir, "x", Tensor::from_vector<float>({2, 4}, xv));
  std::vector<float> x3;
  for (int i = 0; i < 24; ++i) x3.push_back(float(i % 7) * 0.3f - 1.f);
  test::expect_npy(dir, "x3", Tensor::from_vector<float>({2, 3, 4}, x3));
  {
    Graph g3;
    Value* x =
        g3.add_input("x", {DType::f32, Shape(std::vector<Dim>{Dim::sym("batch"), Dim(3), Dim(4)}), std::nullopt});
    Value* w = g3.add_constant("fc.weight", *f.find_value("fc.weight")->constant());
    Value* bb = g3.add_constant("fc.bias", *f.find_value("fc.bias")->constant());
    Node* lin = g3.add_node(OpKind::Linear, {"fc", {x, w, bb}, {}, 1, {"y"}});
    g3.add_output(lin->output(0));
    export_onnx(g3, dir / "float3.onnx");
  }
  Graph q = make_qdq_graph();
  save_graph(q, dir / "quant.onnx");
  const Tensor& w = *q.find_value("fc.weight")->constant();
  test::expect_npy(dir, "quant.w", w);
  test::expect_npy(dir, "quant.w.scale", Tensor::from_vector<float>({3}, w.quant()->scales));
  test::expect_npy(dir, "quant.w.zero_point", Tensor::from_vector<int32_t>({3}, w.quant()->zero_points));
  test::expect_npy(dir, "quant.b", *q.find_value("fc.bias")->constant());

  MQ_RUN_INTEROP(python, "check_onnx.py", dir);

  for (const char* k : {"f32", "i8", "i64", "bool"}) {
    INFO(k);
    CHECK(load_onnx_tensor(dir / (std::string("pb/") + k + ".pb")) ==
          load_npy(dir / (std::string("pb/") + k + ".npy")));
  }
  CHECK(load_onnx_tensor(dir / "pb/typed.pb").to_float() == std::vector<float>{1.5f, -2.5f});
}
