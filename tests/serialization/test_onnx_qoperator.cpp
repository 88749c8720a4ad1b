// ONNX Runtime's QOperator models (com.microsoft quantized ops) run in monoquant with ONNX
// Runtime's results: small models written and run by ONNX Runtime in the interop venv
// (tests/interop/make_ort_qoperator.py).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>

#include "engine/api.h"
#include "engine/session.h"
#include "engine/sqnr.h"
#include "interop_util.h"
#include "serialization/npy.h"

using namespace mq;

TEST_CASE(
    "interop: QOperator models (QLinearConv, "
    "QLinearAdd/Mul/Sigmoid/LeakyRelu/Concat/GlobalAveragePool/AveragePool, "
    "QGemm, "
    "dynamic MatMuls, DynamicQuantizeLSTM, u8-weight QLinearConv, quantize_dynamic's MatMul chains) match ONNX "
    "Runtime") {
  MQ_REQUIRE_INTEROP_PYTHON(python);
  test::TempDir dir;
  MQ_RUN_INTEROP(python, "make_ort_qoperator.py", dir);
  for (const char* name :
       {"qoperator_cnn", "qgemm", "dynamic_matmul", "matmul_integer_to_float", "dq_lstm_forward", "dq_lstm_bidi",
        "dq_lstm_u8", "qlinearconv_u8u8", "qgemm_per_channel_t", "qgemm_per_channel", "qlinear_average_pool",
        "qlinear_average_pool_pad", "ort_dynamic_mlp"}) {
    CAPTURE(name);
    Graph g = load_model(dir / (std::string(name) + ".onnx"));
    // the QLinearConv and the QGemm run on the int8 kernels (QConv2d, QLinear)
    auto count = [&](OpKind op) {
      int k = 0;
      for (Node* n : g.nodes()) k += n->op() == op;
      return k;
    };
    if (std::string(name) == "qoperator_cnn") CHECK(count(OpKind::QConv2d) == 1);
    if (std::string(name).rfind("qgemm", 0) == 0) CHECK(count(OpKind::QLinear) == 1);
    // quantize_dynamic's DynamicQuantizeLinear → MatMulInteger → Cast → Mul → Add chains: one step each
    // (and DynamicQuantizeMatMul), MatMulIntegerToFloat on the integer product
    if (std::string(name) == "ort_dynamic_mlp") CHECK(count(OpKind::DynamicQLinear) == 2);
    if (std::string(name) == "dynamic_matmul") CHECK(count(OpKind::DynamicQLinear) == 1);
    if (std::string(name) == "matmul_integer_to_float") CHECK(count(OpKind::MatMulInteger) == 1);
    if (std::string(name) == "ort_dynamic_mlp" || std::string(name) == "dynamic_matmul")
      CHECK(count(OpKind::MatMulInteger) == 0);
    // s8 symmetric DynamicQuantizeLSTM weights run on the int8 LSTM; u8 ones on dequantized weights
    if (std::string(name).rfind("dq_lstm", 0) == 0)
      CHECK(count(OpKind::DynamicQLSTM) == (std::string(name) == "dq_lstm_u8" ? 0 : 1));
    const Tensor x = serialization::load_npy(dir / ("data/" + std::string(name) + "_x.npy"));
    const Tensor want = serialization::load_npy(dir / ("data/" + std::string(name) + "_y.npy"));
    const Tensor got = Session(g).run({{"x", x}}).at("y");
    REQUIRE(got.dims() == want.dims());
    CHECK(sqnr_db(want, got) >= 40.0);
  }
}

namespace {

/// How many elements of got differ from want in their bytes (a NaN compares as a NaN).
int64_t differing(const Tensor& got, const Tensor& want) {
  REQUIRE(got.dtype() == want.dtype());
  REQUIRE(got.dims() == want.dims());
  const size_t size = dtype_size(got.dtype());
  const auto* p = static_cast<const uint8_t*>(got.raw());
  const auto* w = static_cast<const uint8_t*>(want.raw());
  int64_t differ = 0;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const bool nan =
        got.dtype() == DType::f32 && std::isnan(got.data<float>()[i]) && std::isnan(want.data<float>()[i]);
    differ += !nan && std::memcmp(p + size_t(i) * size, w + size_t(i) * size, size) != 0;
  }
  return differ;
}

}  // namespace

TEST_CASE(
    "interop: QLinearAdd / QLinearMul / QLinearSigmoid and a QDQ Sigmoid give ONNX Runtime's bits on every pair "
    "of 8-bit values, and float Sigmoid and Tanh on floats across their range") {
  // tests/interop/make_ort_elementwise_bits.py: u8 and s8, four scale sets; a QLinearAdd whose
  // operand is one value per run (either side), as ORT's broadcast hands it to its kernel; and
  // ORT's float Sigmoid
  MQ_REQUIRE_INTEROP_PYTHON(python);
  test::TempDir dir;
  MQ_RUN_INTEROP(python, "make_ort_elementwise_bits.py", dir);
  for (const std::string name : {"sigmoid_f32", "tanh_f32"}) {
    CAPTURE(name);
    const Graph g = load_model(dir / (name + ".onnx"));
    const Tensor x = serialization::load_npy(dir / ("data/" + name + "_x.npy"));
    const Tensor want = serialization::load_npy(dir / ("data/" + name + "_y.npy"));
    CHECK(differing(Session(g).run({{"x", x}}).at("y"), want) == 0);
  }
  for (const char* type : {"u8", "s8"}) {
    for (int set = 0; set < 4; ++set) {
      const std::string name = std::string("int8_elementwise_") + type + "_" + std::to_string(set);
      CAPTURE(name);
      const Graph g = load_model(dir / (name + ".onnx"));
      // the int8 results keep the file's c_scale / c_zero_point (an int8 layer reading one
      // checks it): the rounding to ORT's values happens before the QuantizeLinear
      for (const char* y : {"add", "mul"}) {
        const Value* v = g.find_value(y);
        REQUIRE(v);
        REQUIRE(v->type().quant);
        CHECK(v->type().quant->scales == g.find_value("sc")->constant()->to_float());
      }
      TensorMap in;
      for (const char* x : {"a", "b", "a_col"})
        in[x] = serialization::load_npy(dir / ("data/" + name + "_" + x + ".npy"));
      for (int threads : {1, 2}) {
        CAPTURE(threads);
        const TensorMap got = Session(g, {.threads = threads}).run(in);
        for (const char* y : {"add", "add_col_a", "add_col_b", "mul", "sigmoid", "qdq_sigmoid"}) {
          CAPTURE(y);
          CHECK(differing(got.at(y), serialization::load_npy(dir / ("data/" + name + "_" + y + ".npy"))) == 0);
        }
      }
    }
  }
}
