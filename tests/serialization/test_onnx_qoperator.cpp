// ONNX Runtime's QOperator models (com.microsoft quantized ops) run in monoquant with ONNX
// Runtime's results: small models written and run by ONNX Runtime in the interop venv
// (tests/interop/make_ort_qoperator.py).
#include <doctest/doctest.h>

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
    "dynamic MatMuls, DynamicQuantizeLSTM, u8-weight QLinearConv) match ONNX Runtime") {
  MQ_REQUIRE_INTEROP_PYTHON(python);
  test::TempDir dir;
  MQ_RUN_INTEROP(python, "make_ort_qoperator.py", dir);
  for (const char* name :
       {"qoperator_cnn", "qgemm", "dynamic_matmul", "matmul_integer_to_float", "dq_lstm_forward", "dq_lstm_bidi",
        "dq_lstm_u8", "qlinearconv_u8u8", "qgemm_per_channel_t", "qgemm_per_channel", "qlinear_average_pool",
        "qlinear_average_pool_pad"}) {
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
