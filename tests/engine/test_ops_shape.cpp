// Shape and data-movement executors through a Session on small hand-built graphs: every
// dtype moves bytes correctly, slicing/padding/resizing follow ONNX, shape subgraphs fold.
#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>

#include "engine/api.h"
#include "engine/session.h"
#include "ir/graph.h"

using namespace mq;

namespace {

ValueType type_of(DType dt, std::vector<Dim> dims) { return {dt, Shape(std::move(dims)), {}}; }

template <class T>
Tensor iota(std::vector<int64_t> dims, T start = T(0)) {
  int64_t n = 1;
  for (auto d : dims) n *= d;
  std::vector<T> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[size_t(i)] = T(start + T(i));
  return Tensor::from_vector<T>(std::move(dims), v);
}

Value* ints(Graph& g, const std::string& name, std::vector<int64_t> v) {
  return g.add_constant(name, Tensor::from_vector<int64_t>({int64_t(v.size())}, v));
}

/// Builds a one-node graph over input "x" (plus constant operands), runs it on `x`.
struct OneNode {
  Graph g;
  Value* x;
  Node* node = nullptr;
  OneNode(const Tensor& xt) {
    std::vector<Dim> dims(xt.dims().begin(), xt.dims().end());
    x = g.add_input("x", type_of(xt.dtype(), dims));
  }
  Node* add(OpKind op, std::vector<Value*> extra, Attributes attrs = {}, size_t outs = 1) {
    std::vector<Value*> in{x};
    in.insert(in.end(), extra.begin(), extra.end());
    node = g.add_node(op, {.name = "op", .inputs = in, .attrs = std::move(attrs), .num_outputs = outs});
    for (Value* o : node->outputs()) g.add_output(o);
    return node;
  }
  std::vector<Tensor> run(const Tensor& xt, int threads = 1) {
    Session s(g, {.threads = threads});
    auto out = s.run({{"x", xt}});
    std::vector<Tensor> r;
    for (Value* o : node->outputs()) r.push_back(out.at(o->name()));
    return r;
  }
};

template <class T>
std::vector<T> values(const Tensor& t) {
  auto s = t.span<T>();
  return {s.begin(), s.end()};
}

Attributes attrs(std::initializer_list<std::pair<const std::string, AttrValue>> kv) {
  Attributes a;
  for (auto& [k, v] : kv) a.set(k, v);
  return a;
}

}  // namespace

TEST_CASE("Shape→Gather→Unsqueeze→Concat→Reshape folds to one Reshape with a constant shape") {
  Graph g;
  Value* x = g.add_input("x", type_of(DType::f32, {2, 3, 4}));
  Node* shp = g.add_node(OpKind::Shape, {.name = "shape", .inputs = {x}});
  Value* zero = g.add_constant("zero", Tensor::scalar<int64_t>(0));
  Node* gat = g.add_node(OpKind::Gather, {.name = "gather", .inputs = {shp->output(0), zero}});
  CHECK(gat->output(0)->shape().rank() == 0);
  Node* uns = g.add_node(OpKind::Unsqueeze, {.name = "unsq", .inputs = {gat->output(0), ints(g, "axes", {0})}});
  Node* cat = g.add_node(OpKind::Concat, {.name = "concat",
                                          .inputs = {uns->output(0), ints(g, "minus1", {-1})},
                                          .attrs = attrs({{"axis", int64_t(0)}})});
  Node* rs = g.add_node(OpKind::Reshape, {.name = "reshape", .inputs = {x, cat->output(0)}});
  // Before folding, the shape operand is unknown: rank 2, anonymous dims.
  CHECK(rs->output(0)->shape().rank() == 2);
  CHECK_FALSE(rs->output(0)->shape().is_static());
  g.add_output(rs->output(0));

  optimize_graph(g);
  REQUIRE(g.node_count() == 1);
  Node* only = g.nodes()[0];
  CHECK(only->op() == OpKind::Reshape);
  REQUIRE(only->input(1)->is_constant());
  CHECK(only->input(1)->constant()->to_int64() == std::vector<int64_t>{2, -1});

  Session s(g, {.threads = 1});
  Tensor xt = iota<float>({2, 3, 4});
  auto out = s.run({{"x", xt}});
  const Tensor& y = out.begin()->second;
  CHECK(y.dims() == std::vector<int64_t>{2, 12});
  CHECK(values<float>(y) == values<float>(xt));
}

TEST_CASE("Reshape inference: 0 copies dims, -1 is inferred through symbolic dims, mismatches fail") {
  Graph g;
  Value* x = g.add_input("x", type_of(DType::f32, {Dim::sym("batch"), 3, 4}));
  Node* r = g.add_node(OpKind::Reshape, {.name = "r", .inputs = {x, ints(g, "s", {0, -1})}});
  CHECK(r->output(0)->shape().str() == "[batch,12]");
  Node* f = g.add_node(OpKind::Flatten, {.name = "f", .inputs = {x}, .attrs = attrs({{"axis", int64_t(-1)}})});
  CHECK(f->output(0)->shape().str() == "[?,4]");
  CHECK_THROWS_AS(g.add_node(OpKind::Reshape, {.name = "bad", .inputs = {x, ints(g, "s2", {0, 5})}}), ShapeError);
  Value* y = g.add_input("y", type_of(DType::f32, {0, 3}));
  Node* z =
      g.add_node(OpKind::Reshape,
                 {.name = "z", .inputs = {y, ints(g, "s3", {3, 0})}, .attrs = attrs({{"allowzero", int64_t(1)}})});
  CHECK(z->output(0)->shape().str() == "[3,0]");
}

TEST_CASE("Transpose moves i64, u8 and bool data") {
  Tensor x = iota<int64_t>({2, 3, 4});
  OneNode t(x);
  t.add(OpKind::Transpose, {}, attrs({{"perm", std::vector<int64_t>{2, 0, 1}}}));
  Tensor y = t.run(x)[0];
  CHECK(y.dims() == std::vector<int64_t>{4, 2, 3});
  auto v = values<int64_t>(y);
  for (int64_t a = 0; a < 4; ++a)
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t c = 0; c < 3; ++c) CHECK(v[size_t(a * 6 + b * 3 + c)] == b * 12 + c * 4 + a);

  Tensor xb = Tensor::from_vector<bool>({2, 3}, {true, false, false, true, true, false});
  OneNode tb(xb);
  tb.add(OpKind::Transpose, {});
  CHECK(values<bool>(tb.run(xb)[0]) == std::vector<bool>{true, true, false, true, false, false});

  Tensor xu = iota<uint8_t>({3, 2});
  OneNode tu(xu);
  tu.add(OpKind::Transpose, {});
  CHECK(values<uint8_t>(tu.run(xu)[0]) == std::vector<uint8_t>{0, 2, 4, 1, 3, 5});
}

TEST_CASE(
    "Transpose of large tensors (tiled copy) and of size-1 dims (a view) matches index arithmetic for every "
    "permutation and element size") {
  // {3,1,5,1}: permutations that keep 3 before 5 move no data (the output is a view)
  // {2,9,3,19}: innermost output dims of 2 or 3 strided elements (a pixel shuffle's last axis);
  // {2,17,4,37}: 2, 3 and 4 output columns take the narrow copy
  // {2,9,7,3} / {2,9,7,2}: contiguous runs of 3 or 2 elements (of one byte for u8: an int8
  // depth-to-space) under a strided dim
  for (const std::vector<int64_t>& dims :
       {std::vector<int64_t>{3, 17, 5, 37}, std::vector<int64_t>{2, 9, 3, 19}, std::vector<int64_t>{2, 17, 4, 37},
        std::vector<int64_t>{3, 1, 5, 1}, std::vector<int64_t>{2, 9, 7, 3}, std::vector<int64_t>{2, 9, 7, 2}}) {
    CAPTURE(dims[1]);
    std::vector<int64_t> perm = {0, 1, 2, 3};
    auto check_perm = [&](auto tag) {
      using T = decltype(tag);
      Tensor x = iota<T>(dims);
      OneNode t(x);
      t.add(OpKind::Transpose, {}, attrs({{"perm", perm}}));
      Tensor y = t.run(x)[0];
      const auto v = values<T>(y);
      const auto src = values<T>(x);
      const int64_t in_strides[4] = {dims[1] * dims[2] * dims[3], dims[2] * dims[3], dims[3], 1};
      size_t k = 0, wrong = 0;
      for (int64_t a = 0; a < dims[size_t(perm[0])]; ++a)
        for (int64_t b = 0; b < dims[size_t(perm[1])]; ++b)
          for (int64_t c = 0; c < dims[size_t(perm[2])]; ++c)
            for (int64_t d = 0; d < dims[size_t(perm[3])]; ++d) {
              const int64_t off = a * in_strides[perm[0]] + b * in_strides[perm[1]] + c * in_strides[perm[2]] +
                                  d * in_strides[perm[3]];
              wrong += v[k++] != src[size_t(off)];
            }
      CHECK(wrong == 0);
    };
    do {
      CAPTURE(perm[0] * 1000 + perm[1] * 100 + perm[2] * 10 + perm[3]);
      check_perm(float{});
      check_perm(uint8_t{});
      check_perm(int64_t{});
    } while (std::next_permutation(perm.begin(), perm.end()));
  }
}

TEST_CASE("Transpose split over threads (its outermost dim above 1) gives the one-thread bytes") {
  // 1 × 1 × 45 × 41 × 59 floats (three times the parallel threshold), size-1 dims first
  Tensor x = iota<float>({1, 1, 45, 41, 59});
  for (const std::vector<int64_t>& perm :
       {std::vector<int64_t>{0, 1, 4, 2, 3}, std::vector<int64_t>{1, 0, 3, 4, 2},
        std::vector<int64_t>{4, 3, 2, 1, 0}}) {
    OneNode t(x);
    t.add(OpKind::Transpose, {}, attrs({{"perm", perm}}));
    const Tensor one = t.run(x)[0];
    for (int threads : {2, 3}) {
      CAPTURE(threads);
      CHECK(values<float>(t.run(x, threads)[0]) == values<float>(one));
    }
  }
}

TEST_CASE("Resize split over threads (its outermost dim above 1) gives the one-thread bytes") {
  // 1 × 37 × 41 × 9 → 1 × 74 × 82 × 18 floats (above three times the parallel threshold)
  Tensor x = iota<float>({1, 37, 41, 9});
  for (const std::string mode : {"nearest", "linear"}) {
    CAPTURE(mode);
    OneNode t(x);
    t.add(OpKind::Resize, {nullptr, t.g.add_constant("scales", Tensor::from_vector<float>({4}, {1, 2, 2, 2}))},
          attrs({{"mode", mode}}));
    const Tensor one = t.run(x)[0];
    CHECK(one.dims() == std::vector<int64_t>{1, 74, 82, 18});
    for (int threads : {2, 3}) {
      CAPTURE(threads);
      CHECK(values<float>(t.run(x, threads)[0]) == values<float>(one));
    }
  }
}

TEST_CASE("Slice: negative steps, clamping of out-of-range starts and ends, i32 data") {
  Tensor x = iota<int32_t>({3, 5});
  OneNode s(x);
  // rows 100..-100 step -2 (clamped: 2, 0); cols -1..-4 step -1: 4, 3, 2
  s.add(OpKind::Slice, {ints(s.g, "st", {100, -1}), ints(s.g, "en", {-100, -4}), ints(s.g, "ax", {0, 1}),
                        ints(s.g, "sp", {-2, -1})});
  CHECK(s.node->output(0)->shape().str() == "[2,3]");
  Tensor y = s.run(x)[0];
  CHECK(values<int32_t>(y) == std::vector<int32_t>{14, 13, 12, 4, 3, 2});

  OneNode e(x);  // an empty slice
  e.add(OpKind::Slice, {ints(e.g, "st", {3}), ints(e.g, "en", {1})});
  CHECK(e.run(x)[0].numel() == 0);
}

TEST_CASE("Slice: a contiguous block is a view; a strided slice splits over two threads with one thread's bytes") {
  Tensor x = iota<float>({6, 40, 300});
  auto expect = [&](int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
    std::vector<float> v;
    for (int64_t i = r0; i < r1; ++i)
      for (int64_t j = 0; j < 40; ++j)
        for (int64_t k = c0; k < c1; ++k) v.push_back(float((i * 40 + j) * 300 + k));
    return v;
  };
  OneNode rows(x);  // rows 1..5: one block at an offset
  rows.add(OpKind::Slice, {ints(rows.g, "st", {1}), ints(rows.g, "en", {5})});
  OneNode cols(x);  // columns 3..290 of every row: 68880 floats, split over the threads
  cols.add(OpKind::Slice, {ints(cols.g, "st", {3}), ints(cols.g, "en", {290}), ints(cols.g, "ax", {2})});
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    CHECK(values<float>(rows.run(x, threads)[0]) == expect(1, 5, 0, 300));
    CHECK(values<float>(cols.run(x, threads)[0]) == expect(0, 6, 3, 290));
  }
  // a view of an intermediate: the ops after it never write into the tensor it views
  Graph g;
  Value* xv = g.add_input("x", type_of(DType::f32, {Dim(6), Dim(40), Dim(300)}));
  Node* neg = g.add_node(OpKind::Neg, {.name = "neg", .inputs = {xv}, .output_names = {"n"}});
  Node* sl = g.add_node(OpKind::Slice,
                        {.name = "slice", .inputs = {neg->output(0), ints(g, "st", {2}), ints(g, "en", {4})}});
  Node* back = g.add_node(OpKind::Neg, {.name = "back", .inputs = {sl->output(0)}, .output_names = {"b"}});
  g.add_output(neg->output(0));
  g.add_output(back->output(0));
  Session s(g, {.threads = 2});
  for (int run = 0; run < 3; ++run) {
    TensorMap out = s.run({{"x", x}});
    std::vector<float> n = values<float>(out.at("n"));
    bool ok = true;
    for (size_t i = 0; i < n.size(); ++i) ok = ok && n[i] == -float(i);
    CHECK(ok);
    CHECK(values<float>(out.at("b")) == expect(2, 4, 0, 300));
  }
}

TEST_CASE("Gather with negative indices on any axis, bool data; out-of-range index fails") {
  Tensor x = Tensor::from_vector<bool>({2, 3}, {true, false, false, false, true, true});
  OneNode g(x);
  Value* idx = g.g.add_constant("idx", Tensor::from_vector<int32_t>({2}, {-1, 0}));
  g.add(OpKind::Gather, {idx}, attrs({{"axis", int64_t(1)}}));
  Tensor y = g.run(x)[0];
  CHECK(y.dims() == std::vector<int64_t>{2, 2});
  CHECK(values<bool>(y) == std::vector<bool>{false, true, true, false});

  OneNode bad(x);
  Value* bidx = bad.g.add_constant("idx", Tensor::from_vector<int64_t>({1}, {3}));
  bad.add(OpKind::Gather, {bidx}, attrs({{"axis", int64_t(1)}}));
  CHECK_THROWS_AS(bad.run(x), InvalidArgument);
}

TEST_CASE("Pad: constant, reflect, edge and wrap, negative pads crop") {
  Tensor x = iota<float>({1, 3}, 1.f);  // [1 2 3]
  auto pad = [&](const std::string& mode, std::vector<int64_t> pads, float value) {
    OneNode p(x);
    Value* cv = p.g.add_constant("cv", Tensor::scalar<float>(value));
    p.add(OpKind::Pad, {ints(p.g, "pads", pads), cv}, attrs({{"mode", mode}}));
    return values<float>(p.run(x)[0]);
  };
  CHECK(pad("constant", {0, 2, 0, 1}, 9.f) == std::vector<float>{9, 9, 1, 2, 3, 9});
  CHECK(pad("reflect", {0, 2, 0, 2}, 0.f) == std::vector<float>{3, 2, 1, 2, 3, 2, 1});
  CHECK(pad("edge", {0, 2, 0, 1}, 0.f) == std::vector<float>{1, 1, 1, 2, 3, 3});
  CHECK(pad("wrap", {0, 1, 0, 2}, 0.f) == std::vector<float>{3, 1, 2, 3, 1, 2});
  CHECK(pad("constant", {0, -1, 0, 1}, 7.f) == std::vector<float>{2, 3, 7});
  // 2-D padding of u8 with the default zero value
  Tensor xu = iota<uint8_t>({2, 2}, 1);
  OneNode p(xu);
  p.add(OpKind::Pad, {ints(p.g, "pads", {1, 0, 0, 1})});
  CHECK(values<uint8_t>(p.run(xu)[0]) == std::vector<uint8_t>{0, 0, 0, 1, 2, 0, 3, 4, 0});
  OneNode m(x);
  CHECK_THROWS_AS(m.add(OpKind::Pad, {ints(m.g, "pads", {0, 1, 0, 1})}, attrs({{"mode", std::string("mirror")}})),
                  UnsupportedError);
}

TEST_CASE("Resize: nearest on u8 with asymmetric/floor, linear align_corners, cubic rejected") {
  Tensor x = iota<uint8_t>({1, 1, 2, 2}, 1);
  OneNode n(x);
  Value* scales = n.g.add_constant("scales", Tensor::from_vector<float>({4}, {1, 1, 2, 2}));
  n.add(OpKind::Resize, {nullptr, scales},
        attrs({{"mode", std::string("nearest")},
               {"coordinate_transformation_mode", std::string("asymmetric")},
               {"nearest_mode", std::string("floor")}}));
  Tensor y = n.run(x)[0];
  CHECK(y.dims() == std::vector<int64_t>{1, 1, 4, 4});
  CHECK(values<uint8_t>(y) == std::vector<uint8_t>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});

  Tensor xf = Tensor::from_vector<float>({1, 2}, {0.f, 3.f});
  OneNode l(xf);
  Value* sizes = l.g.add_constant("sizes", Tensor::from_vector<int64_t>({2}, {1, 4}));
  l.add(
      OpKind::Resize, {nullptr, nullptr, sizes},
      attrs({{"mode", std::string("linear")}, {"coordinate_transformation_mode", std::string("align_corners")}}));
  CHECK(values<float>(l.run(xf)[0]) == std::vector<float>{0.f, 1.f, 2.f, 3.f});

  OneNode c(xf);
  Value* s2 = c.g.add_constant("sizes", Tensor::from_vector<int64_t>({2}, {1, 4}));
  CHECK_THROWS_AS(c.add(OpKind::Resize, {nullptr, nullptr, s2}, attrs({{"mode", std::string("cubic")}})),
                  UnsupportedError);
}

TEST_CASE("Split by num_outputs (last chunk smaller) and by sizes; Concat of i64") {
  Tensor x = iota<int64_t>({7});
  OneNode s(x);
  s.add(OpKind::Split, {}, attrs({{"num_outputs", int64_t(3)}}), 3);
  auto parts = s.run(x);
  REQUIRE(parts.size() == 3);
  CHECK(values<int64_t>(parts[0]) == std::vector<int64_t>{0, 1, 2});
  CHECK(values<int64_t>(parts[1]) == std::vector<int64_t>{3, 4, 5});
  CHECK(values<int64_t>(parts[2]) == std::vector<int64_t>{6});

  Tensor m = iota<int64_t>({2, 3});
  OneNode t(m);
  t.add(OpKind::Split, {ints(t.g, "split", {1, 2})}, attrs({{"axis", int64_t(-1)}}), 2);
  auto two = t.run(m);
  CHECK(values<int64_t>(two[0]) == std::vector<int64_t>{0, 3});
  CHECK(values<int64_t>(two[1]) == std::vector<int64_t>{1, 2, 4, 5});

  OneNode c(m);
  Value* other = c.g.add_constant("o", iota<int64_t>({2, 1}, 10));
  c.add(OpKind::Concat, {other}, attrs({{"axis", int64_t(1)}}));
  CHECK(values<int64_t>(c.run(m)[0]) == std::vector<int64_t>{0, 1, 2, 10, 3, 4, 5, 11});
}

TEST_CASE("Concat along the last axis: short rows copied inline, long and odd-sized rows by memcpy") {
  // widths in floats: 4 and 24 (inline 16-byte copies), 128 (512 bytes, the inline limit),
  // 132 (above it), 3 (not a multiple of 16 bytes); mixed in one Concat; 97 rows: copied a
  // few rows at a time with a shorter last group
  for (int64_t w : {int64_t(4), int64_t(24), int64_t(128), int64_t(132), int64_t(3)}) {
    CAPTURE(w);
    const int64_t rows = 97, w2 = w == 3 ? 8 : w + 4;
    Tensor x = iota<float>({rows, w});
    OneNode c(x);
    Value* other = c.g.add_constant("o", iota<float>({rows, w2}, 1000.f));
    c.add(OpKind::Concat, {other}, attrs({{"axis", int64_t(-1)}}));
    std::vector<float> want;
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t j = 0; j < w; ++j) want.push_back(float(r * w + j));
      for (int64_t j = 0; j < w2; ++j) want.push_back(1000.f + float(r * w2 + j));
    }
    Tensor y = c.run(x)[0];
    CHECK(y.dims() == std::vector<int64_t>{rows, w + w2});
    CHECK(values<float>(y) == want);
  }
}

TEST_CASE("Expand, Tile, Squeeze and Unsqueeze") {
  Tensor x = iota<int32_t>({3, 1});
  OneNode e(x);
  e.add(OpKind::Expand, {ints(e.g, "shape", {2, 1, 2})});
  Tensor y = e.run(x)[0];
  CHECK(y.dims() == std::vector<int64_t>{2, 3, 2});
  CHECK(values<int32_t>(y) == std::vector<int32_t>{0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2});

  Tensor t2 = iota<int32_t>({2, 2});
  OneNode t(t2);
  t.add(OpKind::Tile, {ints(t.g, "reps", {2, 1})});
  CHECK(values<int32_t>(t.run(t2)[0]) == std::vector<int32_t>{0, 1, 2, 3, 0, 1, 2, 3});

  OneNode q(x);
  q.add(OpKind::Squeeze, {});
  CHECK(q.run(x)[0].dims() == std::vector<int64_t>{3});
  OneNode u(x);
  u.add(OpKind::Unsqueeze, {ints(u.g, "axes", {-1, 0})});
  CHECK(u.node->output(0)->shape().str() == "[1,3,1,1]");
  CHECK(u.run(x)[0].dims() == std::vector<int64_t>{1, 3, 1, 1});
}

TEST_CASE("Shape with start/end, Size, ConstantOfShape, Range") {
  Tensor x(DType::f32, {2, 3, 5});
  OneNode s(x);
  s.add(OpKind::Shape, {}, attrs({{"start", int64_t(-2)}}));
  CHECK(values<int64_t>(s.run(x)[0]) == std::vector<int64_t>{3, 5});
  OneNode z(x);
  z.add(OpKind::Size, {});
  CHECK(values<int64_t>(z.run(x)[0]) == std::vector<int64_t>{30});

  Graph g;
  Value* shp = g.add_input("x", type_of(DType::i64, {2}));
  Node* c = g.add_node(
      OpKind::ConstantOfShape,
      {.name = "c", .inputs = {shp}, .attrs = attrs({{"value", Tensor::from_vector<int32_t>({1}, {7})}})});
  g.add_output(c->output(0));
  Session sess(g, {.threads = 1});
  Tensor out = sess.run({{"x", Tensor::from_vector<int64_t>({2}, {2, 2})}}).begin()->second;
  CHECK(out.dtype() == DType::i32);
  CHECK(values<int32_t>(out) == std::vector<int32_t>{7, 7, 7, 7});

  Graph r;
  Value* st = r.add_constant("start", Tensor::scalar<int64_t>(10));
  Value* lim = r.add_constant("limit", Tensor::scalar<int64_t>(3));
  Value* dl = r.add_input("delta", type_of(DType::i64, {}));
  Node* rn = r.add_node(OpKind::Range, {.name = "range", .inputs = {st, lim, dl}});
  r.add_output(rn->output(0));
  Session rs(r, {.threads = 1});
  CHECK(values<int64_t>(rs.run({{"delta", Tensor::scalar<int64_t>(-3)}}).begin()->second) ==
        std::vector<int64_t>{10, 7, 4});
}

TEST_CASE("Dropout: inference copy with an all-true mask; the pass removes it when the mask is unread") {
  Tensor x = iota<float>({2, 2});
  OneNode d(x);
  d.add(OpKind::Dropout, {}, {}, 2);
  auto out = d.run(x);
  CHECK(values<float>(out[0]) == values<float>(x));
  CHECK(values<bool>(out[1]) == std::vector<bool>{true, true, true, true});

  Graph g;
  Value* in = g.add_input("x", type_of(DType::f32, {2}));
  Node* drop = g.add_node(OpKind::Dropout, {.name = "drop", .inputs = {in}});
  Node* relu = g.add_node(OpKind::Relu, {.name = "relu", .inputs = {drop->output(0)}});
  g.add_output(relu->output(0));
  optimize_graph(g);
  for (Node* n : g.nodes()) CHECK(n->op() != OpKind::Dropout);
}
