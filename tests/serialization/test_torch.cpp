// zip, pickle and torch archives: round trips and malicious inputs.
#include "serialization/pickle.h"
#include "serialization/serialization.h"
#include "serialization/torch_zip.h"
#include "serialization/zip.h"
#include "test_helpers.h"

using namespace mq;
using namespace mq::serialization;

namespace {
std::vector<std::byte> zip_of(const std::vector<std::pair<std::string, std::string>>& entries) {
  BufferSink s;
  ZipWriter z(s);
  for (auto& [n, d] : entries) z.add(n, std::string_view(d));
  z.finish();
  return s.bytes();
}
std::string pkl(std::initializer_list<std::string> parts) {
  std::string s;
  for (auto& p : parts) s += p;
  return s;
}
// BINUNICODE of `s`
std::string bu(const std::string& s) {
  std::string r = "X";
  uint32_t n = uint32_t(s.size());
  r.append(reinterpret_cast<const char*>(&n), 4);
  return r + s;
}
const std::string P2 = std::string("\x80\x02", 2);
PyRef unpickle(const std::string& s, std::set<std::string> allowed = {}) {
  auto b = test::bytes_of(s);
  return read_pickle(b, "t.pkl", allowed);
}
}  // namespace

TEST_CASE("zip: aligned stored entries round trip") {
  auto b = zip_of({{"a/x", "hello"}, {"a/y", std::string(1000, 'z')}, {"a/empty", ""}});
  ZipReader r(b, "t.zip");
  REQUIRE(r.entries().size() == 3);
  for (auto& e : r.entries()) CHECK(e.data_offset % 64 == 0);
  auto d = r.stored_data(*r.find("a/x"));
  CHECK(std::string(reinterpret_cast<const char*>(d.data()), d.size()) == "hello");
  CHECK(r.extract(*r.find("a/y")).size() == 1000);
}

TEST_CASE("zip: malformed archives are rejected clearly") {
  auto good = zip_of({{"a/x", "hello"}});
  test::expect_error<FormatError>([&] { ZipReader(std::span(good).first(good.size() - 5), "t.zip"); },
                                  {"t.zip", "end of central directory"});
  test::expect_error<InvalidArgument>([&] { zip_of({{"../evil", "x"}}); }, {"unsafe entry name"});
  // an entry name escaping the archive: patch the name in both headers
  auto patch_name = [](std::vector<std::byte> b, const std::string& from, const std::string& to) {
    std::string s(reinterpret_cast<const char*>(b.data()), b.size());
    for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + 1)) s.replace(p, to.size(), to);
    return test::bytes_of(s);
  };
  auto evil = patch_name(zip_of({{"ab/x", "hello"}}), "ab/x", "../x");
  test::expect_error<FormatError>([&] { ZipReader(evil, "t.zip"); }, {"escapes the archive"});
  auto abs = patch_name(zip_of({{"ab/x", "hello"}}), "ab/x", "/etc");
  test::expect_error<FormatError>([&] { ZipReader(abs, "t.zip"); }, {"escapes the archive"});
  // corrupt CRC
  auto bad_crc = good;
  bad_crc[64] ^= std::byte{1};  // first data byte (aligned at 64)
  ZipReader r(bad_crc, "t.zip");
  test::expect_error<FormatError>([&] { r.stored_data(r.entries()[0]); }, {"CRC-32 mismatch"});
  // compressed size pointing past the central directory
  auto big = good;
  size_t cd = 0;
  for (size_t i = 0; i + 4 <= big.size(); ++i)
    if (std::memcmp(big.data() + i, "PK\x01\x02", 4) == 0) cd = i;
  uint32_t huge = 0x7fffffff;
  std::memcpy(big.data() + cd + 20, &huge, 4);
  std::memcpy(big.data() + cd + 24, &huge, 4);
  test::expect_error<FormatError>([&] { ZipReader(big, "t.zip"); }, {"entry 'a/x'", "runs past"});
  // local header offset out of range
  auto off = good;
  std::memcpy(off.data() + cd + 42, &huge, 4);
  test::expect_error<FormatError>([&] { ZipReader(off, "t.zip"); }, {"local header offset"});
  // zip64 sizes
  auto z64 = good;
  uint32_t ff = 0xFFFFFFFF;
  std::memcpy(z64.data() + cd + 20, &ff, 4);
  std::memcpy(z64.data() + cd + 24, &ff, 4);
  test::expect_error<FormatError>([&] { ZipReader(z64, "t.zip"); }, {"zip64"});
  // overlapping entries: two directory records pointing at the same local header
  auto two = zip_of({{"a/x", "hello"}, {"a/y", "world"}});
  size_t cd2 = 0;
  for (size_t i = 0; i + 4 <= two.size(); ++i)
    if (std::memcmp(two.data() + i, "PK\x01\x02", 4) == 0) cd2 = i;  // the last one: a/y
  uint32_t zero = 0;
  std::memcpy(two.data() + cd2 + 42, &zero, 4);
  test::expect_error<FormatError>([&] { ZipReader(two, "t.zip"); }, {"t.zip"});
}

TEST_CASE("pickle: restricted reader") {
  auto root = unpickle(P2 + "}q" + std::string(1, '\0') + "(" + bu("a") + "K\x05" + bu("b") + "\x88u.");
  REQUIRE(root->kind == PyObject::Kind::dict);
  CHECK(root->dict.size() == 2);
  CHECK(root->dict[0].second->i == 5);
  test::expect_error<FormatError>([&] { unpickle(P2 + "cos\nsystem\n" + bu("ls") + "\x85R."); },
                                  {"t.pkl", "global 'os.system' is not allowed"});
  test::expect_error<FormatError>(
      [&] {
        unpickle(
            "\x80\x02"
            "cbuiltins\neval\n.");
      },
      {"builtins.eval"});
  test::expect_error<FormatError>(
      [&] {
        unpickle(
            "\x80\x02X\xff\xff\xff\x7f"
            "abc");
      },
      {"truncated"});
  test::expect_error<FormatError>([&] { unpickle("\x80\x02u."); }, {"no MARK"});
  test::expect_error<FormatError>(
      [&] {
        unpickle(
            "\x80\x02"
            "a.");
      },
      {"stack underflow"});
  test::expect_error<FormatError>([&] { unpickle("\x80\x02h\x07."); }, {"memo index 7"});
  test::expect_error<FormatError>([&] { unpickle(std::string("\x80\x02\x93.", 4)); }, {"not allowed"});
  test::expect_error<FormatError>(
      [&] { unpickle(P2 + "]q" + std::string(1, '\0') + "h" + std::string(1, '\0') + "a."); },
      {"reference cycle"});
  test::expect_error<FormatError>([&] { unpickle("\x80\x02K\x01K\x02."); }, {"STOP with 2"});
  test::expect_error<FormatError>([&] { unpickle("\x80\x02K\x01"); }, {"truncated"});
  // deeply nested tuples are rejected (serialization/limits.h), and freed without recursion
  std::string deep = "\x80\x02)";
  for (int i = 0; i < 200000; ++i) deep += "\x85";
  deep += ".";
  test::expect_error<FormatError>([&] { unpickle(deep); }, {"nested deeper than 200 levels"});
}

TEST_CASE("torch: model round trip and state dict of every dtype") {
  test::TempDir dir;
  Graph g = test::make_quantized_mlp();
  save_graph(g, dir / "m.pt");
  test::check_graphs_equal(g, load_graph(dir / "m.pt"));
  save_graph(g, dir / "m.pth");
  test::check_graphs_equal(g, load_graph(dir / "m.pth"));
  std::vector<std::pair<std::string, Tensor>> ts;
  for (DType dt : {DType::f32, DType::f64, DType::f16, DType::bf16, DType::i8, DType::u8, DType::i16, DType::i32,
                   DType::i64, DType::boolean}) {
    Tensor t(dt, {2, 1, 3, 2, 1});
    auto* p = static_cast<uint8_t*>(t.raw());
    for (size_t i = 0; i < t.nbytes(); ++i) p[i] = dt == DType::boolean ? uint8_t(i % 2) : uint8_t(i * 5 + 1);
    ts.emplace_back(std::string(dtype_name(dt)), t);
  }
  Tensor q32 = Tensor::from_vector<int32_t>({2}, {100, -100});
  q32.set_quant(QuantParams{{0.001f}, {0}, {}, DType::i32});
  ts.emplace_back("q32", q32);
  save_torch_state_dict(dir / "s.pt", ts);
  auto a = load_torch_state_dict(dir / "s.pt");
  REQUIRE(a.tensors.size() == ts.size());
  for (size_t i = 0; i < ts.size(); ++i) {
    CHECK(a.tensors[i].first == ts[i].first);
    CHECK(a.tensors[i].second == ts[i].second);
  }
}

TEST_CASE("torch: malicious archives are rejected clearly") {
  test::TempDir dir;
  auto archive = [&](const std::string& pickle, const std::string& data0, const std::string& name = "x.pt") {
    auto b = zip_of({{"archive/data.pkl", pickle}, {"archive/data/0", data0}, {"archive/version", "3\n"}});
    test::write_bytes(dir / name, b);
    return dir / name;
  };
  auto tensor_pkl = [](const std::string& numel, const std::string& offset, const std::string& size,
                       const std::string& stride, const std::string& storage = "FloatStorage") {
    return pkl({P2, "ccollections\nOrderedDict\n)R(", bu("w"), "ctorch._utils\n_rebuild_tensor_v2\n((",
                bu("storage"), "ctorch\n", storage, "\n", bu("0"), bu("cpu"), numel, "tQ", offset, size, stride,
                "\x89", "ccollections\nOrderedDict\n)RtRu."});
  };
  std::string k4 = "K\x04", k0 = std::string("K\x00", 2);
  // well formed: 4 floats, [2,2] stride (2,1)
  auto ok = load_torch_state_dict(
      archive(tensor_pkl(k4, k0, "K\x02K\x02\x86", "K\x02K\x01\x86"), std::string(16, '\0')));
  CHECK(ok.tensors.at(0).second.dims() == std::vector<int64_t>{2, 2});
  // strides reaching outside the storage
  test::expect_error<FormatError>(
      [&] {
        load_torch_state_dict(
            archive(tensor_pkl(k4, k0, "K\x02K\x02\x86", "K\x03K\x01\x86"), std::string(16, '\0')));
      },
      {"x.pt", "entry 'w'", "outside its storage"});
  // storage offset past the end
  test::expect_error<FormatError>(
      [&] {
        load_torch_state_dict(archive(tensor_pkl(k4, "K\x04", "K\x01\x85", "K\x01\x85"), std::string(16, '\0')));
      },
      {"outside its storage"});
  // storage record smaller than numel × element size
  test::expect_error<FormatError>(
      [&] { load_torch_state_dict(archive(tensor_pkl(k4, k0, "K\x04\x85", "K\x01\x85"), std::string(15, '\0'))); },
      {"holds 15 bytes", "need 16"});
  // unknown storage type (not an allowed global)
  test::expect_error<FormatError>(
      [&] {
        load_torch_state_dict(
            archive(tensor_pkl(k4, k0, "K\x04\x85", "K\x01\x85", "UntypedStorage"), std::string(16, '\0')));
      },
      {"torch.UntypedStorage", "not allowed"});
  // unknown global
  test::expect_error<FormatError>(
      [&] {
        load_torch_state_dict(
            archive("\x80\x02"
                    "cposix\nsystem\n)R.",
                    ""));
      },
      {"posix.system", "not allowed"});
  // missing storage record
  {
    auto b = zip_of({{"archive/data.pkl", tensor_pkl(k4, k0, "K\x04\x85", "K\x01\x85")}});
    test::write_bytes(dir / "nodata.pt", b);
    test::expect_error<FormatError>([&] { load_torch_state_dict(dir / "nodata.pt"); }, {"data/0", "missing"});
  }
  // not a monoquant model
  test::expect_error<FormatError>(
      [&] { load_torch_model(archive(tensor_pkl(k4, k0, "K\x04\x85", "K\x01\x85"), std::string(16, '\0'))); },
      {"not a monoquant model"});
  // records outside the single top folder
  test::write_bytes(dir / "two.pt", zip_of({{"a/data.pkl", "."}, {"b/x", ""}}));
  test::expect_error<FormatError>([&] { load_torch_state_dict(dir / "two.pt"); }, {"outside the top folder"});
  // truncated archives
  auto full = read_file(dir / "x.pt");
  for (size_t n : {size_t(0), size_t(10), full.size() / 2, full.size() - 1}) {
    test::write_bytes(dir / "t.pt", std::span(full).first(n));
    test::expect_error<FormatError>([&] { load_torch_state_dict(dir / "t.pt"); }, {"t.pt"});
  }
}
