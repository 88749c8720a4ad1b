// A LayerNorm written out in elementwise ops and reductions between int8 layers (as exporters
// from JAX / TensorFlow write it), a global max pool, and a float-output head Linear: the
// normalization reads int8 values and is quantized once at its end (its mean and variance are
// never rounded to 8 bits), the max pool runs on int8 values, and the head reads its u8
// input as it is.
#include <doctest/doctest.h>

#include <cstring>
#include <random>

#include "engine/api.h"
#include "engine/quantize.h"
#include "engine/session.h"
#include "graph_queries.h"
#include "head_blocks.h"

using namespace mq;
using test::find_op;
using test::normalized_head;

namespace {

std::vector<TensorMap> rows(int n, uint32_t seed) { return test::head_rows({2, 8, 6, 6}, n, seed); }

}  // namespace

TEST_CASE("a LayerNorm written out reads int8 values and is quantized once; the head reads its u8 input") {
  Graph g = normalized_head();
  TensorListSource src(rows(8, 1));
  const Calibration cal = calibrate(g, src);
  QuantizeResult q = static_quantize(g, cal, {}, &src);
  CHECK(q.info.model_sqnr_db > 25);

  // the max pool moves u8 values
  const Node* pool = find_op(q.graph, OpKind::GlobalMaxPool);
  REQUIRE(pool);
  CHECK(pool->input(0)->dtype() == DType::u8);
  CHECK(pool->output(0)->dtype() == DType::u8);
  // the statistics stay float: no QuantizeLinear reads a reduction's, Sqrt's or Reciprocal's result
  for (const char* name : {"sum", "sum_sq", "mean", "var", "std", "rstd"}) {
    CAPTURE(name);
    const Node* n = q.graph.find_node(name);
    REQUIRE(n);
    CHECK(n->output(0)->dtype() == DType::f32);
    for (const Node* u : n->output(0)->users()) CHECK(u->op() != OpKind::QuantizeLinear);
  }
  // one QuantizeLinear at the normalization's end, which the head reads as it is
  const Node* head = q.graph.find_node("head");
  REQUIRE(head);
  CHECK(head->op() == OpKind::DynamicQLinear);
  CHECK(head->input(0)->dtype() == DType::u8);
  REQUIRE(head->input(0)->producer());
  CHECK(head->input(0)->producer()->op() == OpKind::QuantizeLinear);
  REQUIRE(head->input(0)->producer()->input(0)->producer());
  CHECK(head->input(0)->producer()->input(0)->producer()->name() == "beta");
  int in_chain = 0;
  for (const LayerReport& l : q.info.layers)
    in_chain += l.quantized && l.scheme.find("inside an int8 elementwise chain") != std::string::npos;
  CHECK(in_chain >= 11);

  // the head's int8 input gives the float result of its integer product (no second rounding):
  // the same as the head computing on the dequantized u8 values
  const TensorMap in = rows(1, 5)[0];
  Session s(q.graph, {.threads = 1});
  const Tensor got = s.run(in).at("y");
  QuantizeOptions all_but_head;
  all_but_head.layers.exclude = {"head"};
  QuantizeResult f = static_quantize(g, cal, all_but_head, &src);
  const Node* float_head = f.graph.find_node("head");
  REQUIRE(float_head);
  CHECK(float_head->op() == OpKind::Linear);
  const Tensor ref = Session(f.graph, {.threads = 1}).run(in).at("y");
  REQUIRE(got.dims() == ref.dims());
  float worst = 0.f, peak = 0.f;
  for (int64_t i = 0; i < got.numel(); ++i) {
    worst = std::max(worst, std::abs(got.data<float>()[i] - ref.data<float>()[i]));
    peak = std::max(peak, std::abs(ref.data<float>()[i]));
  }
  CHECK(worst < 0.05f * peak);  // the head's weights are the only difference
  // bit-identical across thread counts and through dequantize_model's float graph, roughly
  CHECK(std::memcmp(Session(q.graph, {.threads = 2}).run(in).at("y").raw(), got.raw(), got.nbytes()) == 0);
  const Tensor back = Session(dequantize_model(q.graph)).run(in).at("y");
  for (int64_t i = 0; i < got.numel(); ++i)
    CHECK(std::abs(back.data<float>()[i] - got.data<float>()[i]) < 0.1f * peak);
}

TEST_CASE("s8 activations: the max pool and the head read s8 values, with the u8 model's accuracy") {
  Graph g = normalized_head();
  TensorListSource src(rows(8, 1));
  const Calibration cal = calibrate(g, src);
  QuantizeOptions s8;
  s8.activation_type = DType::i8;
  const QuantizeResult q = static_quantize(g, cal, s8, &src);
  const QuantizeResult u = static_quantize(g, cal, {}, &src);
  const Node* pool = find_op(q.graph, OpKind::GlobalMaxPool);
  REQUIRE(pool);
  CHECK(pool->input(0)->dtype() == DType::i8);
  const Node* head = q.graph.find_node("head");
  REQUIRE(head);
  CHECK(head->op() == OpKind::DynamicQLinear);
  CHECK(head->input(0)->dtype() == DType::i8);
  CHECK(q.info.model_sqnr_db > 25);
  CHECK(std::abs(q.info.model_sqnr_db - u.info.model_sqnr_db) < 3);
  // the same result on 1 and 2 threads
  const TensorMap in = rows(1, 6)[0];
  const Tensor a = Session(q.graph, {.threads = 1}).run(in).at("y");
  const Tensor b = Session(q.graph, {.threads = 2}).run(in).at("y");
  CHECK(std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0);
}
