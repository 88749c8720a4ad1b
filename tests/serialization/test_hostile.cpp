// Hostile inputs: files built to exhaust memory or to hang, and corrupted copies of valid files
// in every format. Each must end in an mq::Error that names the file, in printable text.
#include <sys/stat.h>
#include <zlib.h>

#include <cstdlib>

#include "importers/onnx/import.h"
#include "serialization/calibration_table.h"
#include "serialization/npy.h"
#include "serialization/onnx_tensor.h"
#include "serialization/pickle.h"
#include "serialization/safetensors.h"
#include "serialization/serialization.h"
#include "serialization/torch_zip.h"
#include "serialization/zip.h"
#include "test_helpers.h"

using namespace mq;
using namespace mq::serialization;

namespace {

std::string deflate_raw(const std::string& s) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, -MAX_WBITS, 9, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&z, uLong(s.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(s.data()));
  z.avail_in = uInt(s.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = uInt(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

template <class T>
void put(std::string& s, T v) {
  s.append(reinterpret_cast<const char*>(&v), sizeof v);
}

struct Member {
  std::string name;
  std::string stored;  ///< the bytes in the archive
  uint16_t method;     ///< 0 stored, 8 deflated
  uint32_t size;       ///< the declared uncompressed size
  uint32_t crc;
};
/// A member deflated from `data`, declaring `declared` bytes (default: the real size).
Member deflated(const std::string& name, const std::string& data, int64_t declared = -1) {
  auto b = test::bytes_of(data);
  return {name, deflate_raw(data), 8, uint32_t(declared < 0 ? int64_t(data.size()) : declared), crc32(b)};
}
/// A zip archive written byte by byte, so that its sizes can lie.
std::vector<std::byte> zip_bytes(const std::vector<Member>& members) {
  std::string s, cd;
  for (auto& m : members) {
    uint32_t off = uint32_t(s.size());
    put<uint32_t>(s, 0x04034b50);
    put<uint16_t>(s, 20), put<uint16_t>(s, 0), put<uint16_t>(s, m.method), put<uint32_t>(s, 0);
    put<uint32_t>(s, m.crc), put<uint32_t>(s, uint32_t(m.stored.size())), put<uint32_t>(s, m.size);
    put<uint16_t>(s, uint16_t(m.name.size())), put<uint16_t>(s, 0);
    s += m.name + m.stored;
    put<uint32_t>(cd, 0x02014b50);
    put<uint16_t>(cd, 20), put<uint16_t>(cd, 20), put<uint16_t>(cd, 0), put<uint16_t>(cd, m.method);
    put<uint32_t>(cd, 0), put<uint32_t>(cd, m.crc), put<uint32_t>(cd, uint32_t(m.stored.size()));
    put<uint32_t>(cd, m.size);
    put<uint16_t>(cd, uint16_t(m.name.size())), put<uint16_t>(cd, 0), put<uint16_t>(cd, 0);
    put<uint16_t>(cd, 0), put<uint16_t>(cd, 0), put<uint32_t>(cd, 0), put<uint32_t>(cd, off);
    cd += m.name;
  }
  uint32_t cd_off = uint32_t(s.size());
  s += cd;
  put<uint32_t>(s, 0x06054b50);
  put<uint16_t>(s, 0), put<uint16_t>(s, 0);
  put<uint16_t>(s, uint16_t(members.size())), put<uint16_t>(s, uint16_t(members.size()));
  put<uint32_t>(s, uint32_t(cd.size())), put<uint32_t>(s, cd_off), put<uint16_t>(s, 0);
  return test::bytes_of(s);
}

std::string npy_of(const Tensor& t) {
  BufferSink b;
  write_npy(b, t);
  return {reinterpret_cast<const char*>(b.bytes().data()), b.bytes().size()};
}

/// The message names the file first, is printable UTF-8 and holds no absurdly long number.
void check_message(const std::string& msg, const std::string& path) {
  CHECK_MESSAGE(msg.rfind(path + ": ", 0) == 0, "does not start with the path: ", msg);
  size_t digits = 0, longest = 0;
  for (size_t i = 0; i < msg.size(); ++i) {
    auto c = static_cast<unsigned char>(msg[i]);
    digits = std::isdigit(c) ? digits + 1 : 0;
    longest = std::max(longest, digits);
    bool ok = c >= 0x20 && c != 0x7f;
    if (c >= 0x80) {  // a valid UTF-8 sequence
      size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
      ok = n > 0 && i + n <= msg.size();
      for (size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(msg[i + k]) & 0xc0) == 0x80;
      if (ok) i += n - 1;
    }
    CHECK_MESSAGE(ok, "unprintable byte ", int(c), " at ", i, " in: ", msg);
    if (!ok) break;
  }
  CHECK_MESSAGE(longest <= 24, "a number of ", longest, " digits in: ", msg);
  CHECK_MESSAGE(msg.size() < 600, "a message of ", msg.size(), " characters");
}

/// Loads corrupted copies of `good` (truncated at, and bytes flipped at, spread offsets);
/// every rejection must be an mq::Error passing check_message. Returns how many were rejected.
template <class Load>
size_t sweep(const std::string& path, const std::vector<std::byte>& good, Load load) {
  size_t rejected = 0, n = good.size();
  auto attempt = [&](const std::vector<std::byte>& bytes, const std::string& what) {
    test::write_bytes(path, bytes);
    try {
      load(path);
    } catch (const Error& e) {
      ++rejected;
      INFO(what);
      check_message(e.what(), path);
      if (std::getenv("MQ_PRINT")) MESSAGE(std::string(e.what()));
    } catch (const std::exception& e) {
      FAIL("not an mq::Error (", what, "): ", e.what());
    }
  };
  for (size_t cut : {size_t(0), size_t(1), size_t(4), size_t(8), size_t(12), size_t(16), size_t(24), n / 8, n / 4,
                     n / 3, n / 2, 2 * n / 3, 3 * n / 4, n - 8, n - 1})
    if (cut < n) attempt({good.begin(), good.begin() + long(cut)}, "truncated at " + std::to_string(cut));
  for (size_t i = 0; i < 128; ++i) {
    size_t pos = i < 32 ? i : (i * n) / 128 + i % 7;
    if (pos >= n) continue;
    for (uint8_t mask : {uint8_t(0xff), uint8_t(0x01), uint8_t(0x80)}) {
      auto bad = good;
      bad[pos] ^= std::byte(mask);
      attempt(bad, "byte " + std::to_string(pos) + " ^ " + std::to_string(mask));
    }
  }
  return rejected;
}

CalibrationTable sample_table() {
  CalibrationTable t;
  CalibrationEntry e;
  e.stats.kind = "percentile";
  e.stats.batches = 3;
  e.stats.elements = 96;
  e.stats.min = {-1.5f};
  e.stats.max = {2.25f};
  e.stats.histogram = HistogramStats{2, {1, 2, 3, 4, 5, 6, 7, 8}};
  QuantParams q;
  q.qtype = DType::u8;
  q.scales = {0.015f};
  q.zero_points = {100};
  e.qparams = q;
  t.values["conv1.out"] = e;
  t.values["fc"] = e;
  return t;
}

}  // namespace

TEST_CASE("hostile zip: declared sizes are bounded by the bytes present") {
  test::TempDir dir;
  // A 4 GB claim from a few compressed bytes fails before anything is allocated.
  test::write_bytes(dir / "bomb.pt", zip_bytes({deflated("archive/data.pkl", "\x80\x02}.", 0xF0000000u)}));
  test::expect_error<FormatError>([&] { load_torch_state_dict(dir / "bomb.pt"); },
                                  {dir / "bomb.pt", "archive/data.pkl", "declares 4026531840 bytes"});
  // The same through .npz (the member's npy header could then claim anything).
  std::string header_only = npy_of(Tensor(DType::f32, {2})).substr(0, 64);
  test::write_bytes(dir / "bomb.npz", zip_bytes({deflated("x.npy", header_only, 0xA0000000u)}));
  test::expect_error<FormatError>([&] { load_npz(dir / "bomb.npz"); }, {dir / "bomb.npz", "x.npy", "declares"});
  // Claims within the deflate ratio that the stream does not honour.
  std::string data(100000, 'a');
  for (size_t i = 0; i < data.size(); i += 7) data[i] = char('a' + i % 13);
  for (int64_t declared : {int64_t(99999), int64_t(100001), int64_t(3000000)}) {
    test::write_bytes(dir / "lie.zip", zip_bytes({deflated("a/b", data, declared)}));
    auto bytes = read_file(dir / "lie.zip");
    ZipReader z(bytes, dir / "lie.zip");
    test::expect_error<FormatError>([&] { z.extract(z.entries()[0]); }, {dir / "lie.zip", "'a/b'"});
  }
  // A truncated stream.
  Member m = deflated("a/b", data);
  m.stored.resize(m.stored.size() / 2);
  test::write_bytes(dir / "cut.zip", zip_bytes({m}));
  auto cut = read_file(dir / "cut.zip");
  ZipReader zc(cut, dir / "cut.zip");
  test::expect_error<FormatError>([&] { zc.extract(zc.entries()[0]); }, {"corrupt deflate data"});
  // Honest members, including one near deflate's maximum ratio, still load.
  Tensor zeros(DType::f32, {1 << 20});
  Tensor x = Tensor::from_vector<float>({3}, {1.f, 2.f, 3.f});
  test::write_bytes(dir / "ok.npz",
                    zip_bytes({deflated("zeros.npy", npy_of(zeros)), deflated("x.npy", npy_of(x))}));
  auto npz = load_npz(dir / "ok.npz");
  CHECK(npz.at("zeros") == zeros);
  CHECK(npz.at("x") == x);
}

TEST_CASE("hostile npy/npz: the header's shape must match the bytes present") {
  test::TempDir dir;
  std::string npy = npy_of(Tensor(DType::f64, {4}));
  std::string lie = npy;
  size_t p = lie.find("(4,)");
  REQUIRE(p != std::string::npos);
  lie.replace(p, 4, "(99999999999,)");  // 10 more characters: take them from the padding
  size_t pad = lie.find("          \n");
  REQUIRE(pad != std::string::npos);
  lie.erase(pad, 10);
  REQUIRE(lie.size() == npy.size());
  test::write_bytes(dir / "lie.npz", zip_bytes({deflated("a.npy", lie)}));
  test::expect_error<FormatError>([&] { load_npz(dir / "lie.npz"); }, {dir / "lie.npz", "a.npy"});
}

namespace {
const std::string P2 = std::string("\x80\x02", 2);
PyRef unpickle(const std::string& s) {
  auto b = test::bytes_of(s);
  return read_pickle(b, "t.pkl", {});
}
}  // namespace

TEST_CASE("hostile pickle: depth, objects and memo references are bounded") {
  // 300 nested 1-tuples.
  test::expect_error<FormatError>([&] { unpickle(P2 + ")" + std::string(300, '\x85') + "."); },
                                  {"t.pkl", "nested deeper than 200"});
  // Nested lists built with APPEND.
  std::string lists = P2 + "]";
  for (int i = 0; i < 300; ++i) lists = lists + "]";
  for (int i = 0; i < 300; ++i) lists += "a";
  test::expect_error<FormatError>([&] { unpickle(lists + "."); }, {"nested deeper"});
  // Millions of memo references (each 2 bytes) pushed into one list.
  std::string refs = P2 + std::string("]q\x00(", 4);
  for (int i = 0; i < (1 << 19) + 10; ++i) refs += std::string("h\x00", 2);
  test::expect_error<FormatError>([&] { unpickle(refs + "e."); }, {"t.pkl", "objects"});
  // Depth 100 is fine.
  CHECK(unpickle(P2 + ")" + std::string(100, '\x85') + ".")->depth == 100);
}

TEST_CASE("hostile torch: tensors cannot outgrow the bytes stored") {
  test::TempDir dir;
  auto bu = [](const std::string& s) {
    std::string r = "X";
    put<uint32_t>(r, uint32_t(s.size()));
    return r + s;
  };
  // A tensor [numel] with stride `stride` on storage "0" of `storage_numel` floats.
  auto tensor = [&](const std::string& size, const std::string& stride, uint32_t storage_numel) {
    std::string n = "J";
    put<uint32_t>(n, storage_numel);
    return "ctorch._utils\n_rebuild_tensor_v2\n((" + bu("storage") + "ctorch\nFloatStorage\n" + bu("0") +
           bu("cpu") + n + std::string("tQK\x00", 4) + size + stride + "\x89" + "ccollections\nOrderedDict\n)RtR";
  };
  auto archive = [&](const std::string& pkl, uint32_t storage_numel, const std::string& name) {
    BufferSink s;
    ZipWriter z(s);
    z.add("archive/data.pkl", std::string_view(pkl));
    z.add("archive/data/0", std::string(size_t(storage_numel) * 4, '\0'));
    z.finish();
    test::write_bytes(dir / name, s.bytes());
    return dir / name;
  };
  std::string big = "J";
  put<uint32_t>(big, 1u << 30);
  // An expanded view: 2^30 elements from one stored float.
  std::string pkl = P2 + "ccollections\nOrderedDict\n)R(" + bu("w") +
                    tensor(big + "\x85", std::string("K\x00\x85", 3), 1) + "u.";
  test::expect_error<FormatError>([&] { load_torch_state_dict(archive(pkl, 1, "expand.pt")); },
                                  {dir / "expand.pt", "entry 'w'", "expanded views"});
  // One 64 KiB tensor shared by 200 keys (memo references) would copy 12.8 MB.
  std::string n16k = "M";
  put<uint16_t>(n16k, 16384);
  pkl = P2 + "ccollections\nOrderedDict\n)R(" + bu("w0") + tensor(n16k + "\x85", "K\x01\x85", 16384) + "q\x01";
  for (int i = 1; i < 200; ++i) pkl += bu("w" + std::to_string(i)) + "h\x01";
  pkl += "u.";
  test::expect_error<FormatError>([&] { load_torch_state_dict(archive(pkl, 16384, "shared.pt")); },
                                  {dir / "shared.pt", "times the archive"});
  // A few shared references (tied weights) are fine.
  pkl = P2 + "ccollections\nOrderedDict\n)R(" + bu("w0") + tensor(n16k + "\x85", "K\x01\x85", 16384) + "q\x01" +
        bu("w1") + "h\x01u.";
  CHECK(load_torch_state_dict(archive(pkl, 16384, "tied.pt")).tensors.size() == 2);
}

TEST_CASE("hostile files: FIFOs are refused, never waited on") {
  test::TempDir dir;
  for (const char* name : {"f.npy", "f.npz", "f.mqm", "f.pt", "f.safetensors", "f.json", "f.onnx"}) {
    std::string path = dir / name;
    REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
    auto not_regular = [&](auto load) {
      test::expect_error<IoError>([&] { load(path); }, {path, "not a regular file"});
    };
    std::string ext = file_extension(path);
    if (ext == ".npy") not_regular([](const std::string& p) { load_npy(p); });
    else if (ext == ".npz") not_regular([](const std::string& p) { load_npz(p); });
    else if (ext == ".json") not_regular([](const std::string& p) { load_calibration_table(p); });
    else if (ext == ".onnx") not_regular([](const std::string& p) { onnx::import_model(p); });
    else not_regular([](const std::string& p) { load_graph(p); });
  }
}

TEST_CASE("mqm: the data section's CRC-32 catches flipped bits") {
  test::TempDir dir;
  Graph g = test::make_quantized_mlp();
  save_graph(g, dir / "m.mqm");
  // version 1 layout (the FlatBuffer readable in place; version 2 deflates it)
  auto good = test::mqm_as_version1(read_file(dir / "m.mqm"));
  uint64_t fb_size;
  std::memcpy(&fb_size, good.data() + 8, 8);
  size_t data_start = (16 + fb_size + 63) / 64 * 64;
  REQUIRE(data_start < good.size());
  auto bad = good;
  bad[data_start + 1] ^= std::byte(0x10);  // inside the first tensor
  test::write_bytes(dir / "flip.mqm", bad);
  test::expect_error<FormatError>([&] { load_graph(dir / "flip.mqm"); }, {dir / "flip.mqm", "CRC-32 mismatch"});
  // The opt-out.
  ::setenv("MONOQUANT_MQM_CHECKSUM", "0", 1);
  CHECK_NOTHROW(load_graph(dir / "flip.mqm"));
  ::unsetenv("MONOQUANT_MQM_CHECKSUM");
  // A file without the field (as written before it existed) loads unchecked: drop the field
  // from the Model's vtable (Model field 9, data_crc32).
  const std::byte* fb = good.data() + 16;
  uint32_t root;
  std::memcpy(&root, fb, 4);
  int32_t soff;
  std::memcpy(&soff, fb + root, 4);
  size_t vt = size_t(int64_t(root) - soff);
  uint16_t vt_size;
  std::memcpy(&vt_size, fb + vt, 2);
  REQUIRE(vt_size >= 4 + 2 * 10);
  auto old = bad;
  std::memset(old.data() + 16 + vt + 4 + 2 * 9, 0, 2);
  test::write_bytes(dir / "old.mqm", old);
  CHECK_NOTHROW(load_graph(dir / "old.mqm"));
  test::check_graphs_equal(load_graph(dir / "m.mqm"), g);
}

TEST_CASE("corrupted files of every format are rejected with printable messages naming the file") {
  test::TempDir dir;
  Graph q = test::make_quantized_mlp();
  for (const char* ext : {".mqm", ".safetensors", ".pt"}) {
    std::string good = dir / (std::string("good") + ext), bad = dir / (std::string("bad") + ext);
    save_graph(q, good);
    size_t rejected = sweep(bad, read_file(good), [](const std::string& p) { load_graph(p); });
    CHECK_MESSAGE(rejected > 15, ext, ": only ", rejected, " corrupted copies rejected");
  }
  save_npy(dir / "good.npy", Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6}));
  sweep(dir / "bad.npy", read_file(dir / "good.npy"), [](const std::string& p) { load_npy(p); });
  save_npz(dir / "good.npz", {{"a", Tensor::from_vector<int64_t>({3}, {1, 2, 3})}, {"b", Tensor(DType::u8, {5})}});
  sweep(dir / "bad.npz", read_file(dir / "good.npz"), [](const std::string& p) { load_npz(p); });
  test::write_bytes(dir / "good_deflated.npz", zip_bytes({deflated("x.npy", npy_of(Tensor(DType::f32, {64})))}));
  sweep(dir / "bad_deflated.npz", read_file(dir / "good_deflated.npz"), [](const std::string& p) { load_npz(p); });
  save_calibration_table(sample_table(), dir / "good.json");
  sweep(dir / "bad.json", read_file(dir / "good.json"), [](const std::string& p) { load_calibration_table(p); });
  // An ONNX TensorProto: dims [2, 3], FLOAT, name "t", 24 bytes of raw_data.
  std::string pb = std::string("\x08\x02\x08\x03\x10\x01\x42\x01t\x4a\x18", 11) + std::string(24, '\x01');
  test::write_bytes(dir / "good.pb", test::bytes_of(pb));
  REQUIRE(load_onnx_tensor(dir / "good.pb").dims() == std::vector<int64_t>{2, 3});
  sweep(dir / "bad.pb", read_file(dir / "good.pb"), [](const std::string& p) { load_onnx_tensor(p); });
  sweep(dir / "bad2.pb", read_file(dir / "good.pb"), [](const std::string& p) { onnx::read_tensor_file(p); });
  export_onnx(test::make_float_mlp(), dir / "good.onnx");
  sweep(dir / "bad.onnx", read_file(dir / "good.onnx"), [](const std::string& p) { onnx::import_model(p); });
}

TEST_CASE("names echoed from a file are escaped and cut") {
  CHECK(printable("abc") == "abc");
  CHECK(printable(std::string("a\x01\xff"
                              "b",
                              4)) == "a\\x01\\xffb");
  CHECK(printable("caf\xc3\xa9") == "caf\xc3\xa9");  // valid UTF-8 stays
  CHECK(printable(std::string(100, 'n')) == std::string(64, 'n') + "...");
  test::TempDir dir;
  // A zip member whose name is binary garbage.
  std::string name = "archive/\x01\x02\xfe" + std::string(200, 'x');
  test::write_bytes(dir / "names.pt", zip_bytes({{name, "", 3, 0, 0}}));
  try {
    load_torch_state_dict(dir / "names.pt");
    FAIL("loaded");
  } catch (const FormatError& e) {
    check_message(e.what(), dir / "names.pt");
    CHECK(std::string(e.what()).find("\\x01\\x02\\xfe") != std::string::npos);
    CHECK(std::string(e.what()).find(std::string(100, 'x')) == std::string::npos);
  }
}

TEST_CASE("numbers from a file are not echoed at full length") {
  test::TempDir dir;
  std::string huge = "1" + std::string(308, '0');  // 1e308 written out
  // A calibration table whose number overflows a double: nlohmann's out_of_range, not an
  // internal error.
  test::write_bytes(dir / "cal.json", test::bytes_of("{\"format\": \"monoquant-calibration\", \"version\": 1" +
                                                     huge + "0, \"values\": {}}"));
  try {
    load_calibration_table(dir / "cal.json");
    FAIL("loaded");
  } catch (const FormatError& e) {
    check_message(e.what(), dir / "cal.json");
  }
  // A safetensors header with a 309-digit shape entry.
  std::string header = "{\"w\": {\"dtype\": \"F32\", \"shape\": [" + huge + "], \"data_offsets\": [0, 4]}}";
  std::string file(8, '\0');
  uint64_t n = header.size();
  std::memcpy(file.data(), &n, 8);
  test::write_bytes(dir / "w.safetensors", test::bytes_of(file + header + "abcd"));
  try {
    load_safetensors(dir / "w.safetensors");
    FAIL("loaded");
  } catch (const FormatError& e) {
    check_message(e.what(), dir / "w.safetensors");
  }
}
