// safetensors: low-level round trips, every validation rule, graph models and weights.
#include "serialization/deflate.h"
#include "serialization/graph_json.h"
#include "serialization/safetensors.h"
#include "serialization/serialization.h"
#include "test_helpers.h"

using namespace mq;
using namespace mq::serialization;

namespace {
std::vector<std::byte> make_file(const std::string& header, size_t data_bytes) {
  std::string s(8, '\0');
  uint64_t n = header.size();
  std::memcpy(s.data(), &n, 8);
  s += header;
  s += std::string(data_bytes, '\x01');
  return test::bytes_of(s);
}
SafetensorsContents parse(const std::vector<std::byte>& b) { return read_safetensors(b, "t.safetensors"); }
}  // namespace

TEST_CASE("safetensors: round trip of every dtype, empty and rank-0 tensors") {
  test::TempDir dir;
  std::map<std::string, Tensor> m;
  int k = 0;
  for (DType dt : {DType::f32, DType::f64, DType::f16, DType::bf16, DType::i8, DType::u8, DType::i16, DType::u16,
                   DType::i32, DType::u32, DType::i64, DType::u64, DType::boolean}) {
    Tensor t(dt, {2, 3});
    auto* p = static_cast<uint8_t*>(t.raw());
    for (size_t i = 0; i < t.nbytes(); ++i) p[i] = dt == DType::boolean ? uint8_t(i & 1) : uint8_t(i * 7 + k);
    m.emplace("t" + std::to_string(k++), t);
  }
  m.emplace("empty", Tensor(DType::f32, {0, 4}));
  m.emplace("scalar", Tensor::scalar<float>(3.5f));
  save_safetensors(dir / "a.safetensors", m, {{"k", "v"}});
  auto bytes = read_file(dir / "a.safetensors");
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  CHECK((8 + n) % 8 == 0);
  auto c = load_safetensors(dir / "a.safetensors");
  CHECK(c.metadata == std::map<std::string, std::string>{{"k", "v"}});
  REQUIRE(c.tensors.size() == m.size());
  for (auto& [name, t] : m) CHECK(c.tensors.at(name) == t);
}

TEST_CASE("safetensors: every validation rule gives a clear error") {
  auto bad = [](const std::string& header, size_t data, std::initializer_list<std::string> frags) {
    test::expect_error<FormatError>([&] { parse(make_file(header, data)); }, frags);
  };
  // truncated / length problems
  test::expect_error<FormatError>([&] { parse(test::bytes_of("abc")); }, {"t.safetensors", "header length"});
  {
    auto b = make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4);
    uint64_t huge = ~uint64_t(0);
    std::memcpy(b.data(), &huge, 8);
    test::expect_error<FormatError>([&] { parse(b); }, {"header length", "exceeds"});
    uint64_t big = 1000;
    std::memcpy(b.data(), &big, 8);
    test::expect_error<FormatError>([&] { parse(b); }, {"header length", "larger than the rest"});
    b.pop_back();
    std::memcpy(b.data(), &(big = 54), 8);
    test::expect_error<FormatError>([&] { parse(b); }, {"data"});
  }
  bad("[1,2]", 0, {"header", "'{'"});
  bad("{not json", 0, {"invalid JSON"});
  bad(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
      8, {"duplicate key 'a'"});
  bad(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 4, {"tensor 'a'", "need 8"});
  bad(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8, {"tensor 'a'", "must start at 0"});
  bad(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
      12, {"tensor 'b'", "holes"});
  bad(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
      8, {"holes and overlaps"});
  bad(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 8, {"data", "tensors cover"});
  bad(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4, {"non-negative"});
  bad(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}})", 4, {"overflow"});
  bad(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", 4, {"end 4 < begin 8"});
  bad(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4, {"[begin, end]"});
  bad(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}})", 4, {"unknown key 'extra'"});
  bad(R"({"__metadata__":{"a":1}})", 0, {"__metadata__", "not a string"});
  bad(R"({"__metadata__":[]})", 0, {"__metadata__"});
  test::expect_error<UnsupportedError>(
      [&] { parse(make_file(R"({"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})", 1)); },
      {"tensor 'a'", "F8_E4M3"});
  // valid edge cases
  CHECK(parse(make_file(R"(  {"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}})", 4)).tensors.at("a").rank() ==
        0);
  CHECK(parse(make_file(R"({})", 0)).tensors.empty());
}

TEST_CASE("safetensors model: quantized graph round trip") {
  test::TempDir dir;
  Graph g = test::make_quantized_mlp();
  save_safetensors_model(g, dir / "m.safetensors");
  auto c = load_safetensors(dir / "m.safetensors");
  CHECK(c.metadata.at("format") == "monoquant");
  CHECK(c.tensors.at("fc.weight").dtype() == DType::i8);
  CHECK(c.tensors.at("fc.weight.scale").dtype() == DType::f32);
  CHECK(c.tensors.at("fc.weight.zero_point").dtype() == DType::i32);
  Graph h = load_safetensors_model(dir / "m.safetensors");
  test::check_graphs_equal(g, h);
  CHECK(h.find_value("fc.weight")->constant()->quant()->axis == 0);
}

TEST_CASE("safetensors model: version 2 deflates the graph description; version 1 files still load") {
  test::TempDir dir;
  Graph g = test::make_quantized_mlp();
  save_safetensors_model(g, dir / "m.safetensors");
  auto c = load_safetensors(dir / "m.safetensors");
  CHECK(c.metadata.at("format_version") == "2");
  CHECK(c.metadata.count("graph") == 0);
  const std::string json = graph_to_json(g);
  CHECK(c.metadata.at("graph_bytes") == std::to_string(json.size()));
  auto text = inflate_raw(base64_decode(c.metadata.at("graph_deflated"), "t"), json.size(), "t");
  CHECK(std::string(reinterpret_cast<const char*>(text.data()), text.size()) == json);
  // the same file as version 1 wrote it
  auto rewrite = [&](const std::string& name, std::map<std::string, std::string> meta) {
    save_safetensors(dir / name, c.tensors, meta);
    return dir / name;
  };
  auto v1 = c.metadata;
  v1.erase("graph_deflated");
  v1.erase("graph_bytes");
  v1["graph"] = json;
  v1["format_version"] = "1";
  test::check_graphs_equal(g, load_safetensors_model(rewrite("v1.safetensors", v1)));
  auto bad = c.metadata;
  bad["graph_bytes"] = "12x";
  test::expect_error<FormatError>([&] { load_safetensors_model(rewrite("b1.safetensors", bad)); },
                                  {"b1.safetensors", "graph_bytes"});
  bad = c.metadata;
  bad["graph_deflated"] = "not base64!";
  test::expect_error<FormatError>([&] { load_safetensors_model(rewrite("b2.safetensors", bad)); },
                                  {"b2.safetensors", "graph_deflated", "base64"});
  bad = c.metadata;
  bad["graph_bytes"] = std::to_string(json.size() + 1);
  test::expect_error<FormatError>([&] { load_safetensors_model(rewrite("b3.safetensors", bad)); },
                                  {"b3.safetensors", "graph_deflated", "corrupt deflate"});
}

TEST_CASE("base64 and raw deflate round trips") {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    auto b = std::as_bytes(std::span(s.data(), s.size()));
    const std::string e = base64_encode(b);
    auto d = base64_decode(e, "t");
    CHECK(std::string(reinterpret_cast<const char*>(d.data()), d.size()) == s);
    auto z = inflate_raw(deflate_raw(b), s.size(), "t");
    CHECK(std::string(reinterpret_cast<const char*>(z.data()), z.size()) == s);
  }
  CHECK(base64_encode(std::as_bytes(std::span("foobar", 6))) == "Zm9vYmFy");
  CHECK(base64_encode(std::as_bytes(std::span("fo", 2))) == "Zm8=");
  for (const char* bad : {"Zm8", "Zm=8", "Z===", "Zm8=Zm8=", "Zm 8"})
    test::expect_error<FormatError>([&] { base64_decode(bad, "ctx"); }, {"ctx", "base64"});
}

TEST_CASE("safetensors model: weights from a plain file replace constants by name") {
  test::TempDir dir;
  Graph g = test::make_float_mlp();
  Tensor w = Tensor::from_vector<float>({3, 4}, std::vector<float>(12, 2.f));
  save_safetensors(dir / "w.safetensors", {{"fc.weight", w}, {"other", Tensor::scalar<float>(1.f)}});
  WeightsReport rep = load_safetensors_weights(g, dir / "w.safetensors");
  CHECK(rep.replaced == std::vector<std::string>{"fc.weight"});
  CHECK(rep.unused_in_file == std::vector<std::string>{"other"});
  CHECK(*g.find_value("fc.weight")->constant() == w);
  CHECK(g.node_count() == 3);
  save_safetensors(dir / "bad.safetensors", {{"fc.weight", Tensor(DType::f32, {4, 3})}});
  test::expect_error<FormatError>([&] { load_safetensors_weights(g, dir / "bad.safetensors"); },
                                  {"bad.safetensors", "fc.weight", "[4,3]"});
  test::expect_error<FormatError>([&] { load_safetensors_model(dir / "w.safetensors"); },
                                  {"w.safetensors", "not a monoquant model"});
}

TEST_CASE("graph description: corrupted JSON is a clear error") {
  Graph g = test::make_quantized_mlp();
  std::string j = graph_to_json(g);
  auto src = [&](const std::string& n, const ValueType&) { return *g.find_value(n)->constant(); };
  test::check_graphs_equal(g, graph_from_json(j, src, "f"));
  auto replace = [&](std::string s, const std::string& a, const std::string& b) {
    auto p = s.find(a);
    REQUIRE(p != std::string::npos);
    return s.replace(p, a.size(), b);
  };
  test::expect_error<UnsupportedError>([&] { graph_from_json(replace(j, "\"Relu\"", "\"Nope\""), src, "f"); },
                                       {"node 'act'", "unknown op 'Nope'"});
  test::expect_error<FormatError>(
      [&] { graph_from_json(replace(j, "\"inputs\":[\"h\"]", "\"inputs\":[\"zz\"]"), src, "f"); },
      {"node 'act'", "undefined value 'zz'"});
  test::expect_error<FormatError>([&] { graph_from_json("{}", src, "f"); }, {"f: graph description", "format"});
}
