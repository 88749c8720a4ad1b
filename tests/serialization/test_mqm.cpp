// .mqm: round trip, zero-copy loading, corrupted files.
#include "serialization/serialization.h"
#include "test_helpers.h"

using namespace mq;
using namespace mq::serialization;

TEST_CASE("mqm: round trip with borrowed, aligned tensor data") {
  test::TempDir dir;
  Graph g = test::make_quantized_mlp();
  save_graph(g, dir / "m.mqm");
  Graph h = load_graph(dir / "m.mqm");
  test::check_graphs_equal(g, h);
  const Tensor& w = *h.find_value("fc.weight")->constant();
  CHECK(reinterpret_cast<uintptr_t>(w.raw()) % 64 == 0);
  CHECK(w.quant() == g.find_value("fc.weight")->constant()->quant());
  // Saving over the file the graph was loaded from keeps the loaded graph valid (rename).
  Tensor before = w.clone();
  save_graph(h, dir / "m.mqm");
  CHECK(w == before);
  test::check_graphs_equal(g, load_graph(dir / "m.mqm"));
  Graph f = test::make_float_mlp();
  save_graph(f, dir / "f.mqm");
  test::check_graphs_equal(f, load_graph(dir / "f.mqm"));
}

TEST_CASE("mqm: version 2 stores the FlatBuffer deflated; version 1 files still load") {
  test::TempDir dir;
  Graph g = test::make_quantized_mlp();
  save_graph(g, dir / "m.mqm");
  auto good = read_file(dir / "m.mqm");
  uint32_t version;
  uint64_t stored, fb_size;
  std::memcpy(&version, good.data() + 4, 4);
  std::memcpy(&stored, good.data() + 8, 8);
  std::memcpy(&fb_size, good.data() + 16, 8);
  CHECK(version == 2);
  CHECK(stored < fb_size);
  test::write_bytes(dir / "v1.mqm", test::mqm_as_version1(good));
  test::check_graphs_equal(g, load_graph(dir / "v1.mqm"));
}

TEST_CASE("mqm: corrupted and truncated files fail cleanly") {
  test::TempDir dir;
  save_graph(test::make_quantized_mlp(), dir / "m.mqm");
  auto good = read_file(dir / "m.mqm");
  test::write_bytes(dir / "bad.mqm", test::bytes_of("NOPE0000"));
  test::expect_error<FormatError>([&] { load_mqm(dir / "bad.mqm"); }, {"bad.mqm", "magic"});
  for (size_t n : {size_t(0), size_t(7), size_t(20), good.size() / 2, good.size() - 1}) {
    test::write_bytes(dir / "t.mqm", std::span(good).first(n));
    test::expect_error<FormatError>([&] { load_mqm(dir / "t.mqm"); }, {"t.mqm"});
  }
  auto v = good;
  v[4] = std::byte{9};
  test::write_bytes(dir / "v.mqm", v);
  test::expect_error<UnsupportedError>([&] { load_mqm(dir / "v.mqm"); }, {"v.mqm", "version 9"});
  auto big = good;
  uint64_t huge = ~uint64_t(0) >> 1;
  std::memcpy(big.data() + 8, &huge, 8);
  test::write_bytes(dir / "big.mqm", big);
  test::expect_error<FormatError>([&] { load_mqm(dir / "big.mqm"); }, {"flatbuffer size"});
  auto fb_huge = good;
  std::memcpy(fb_huge.data() + 16, &huge, 8);
  test::write_bytes(dir / "fbhuge.mqm", fb_huge);
  test::expect_error<FormatError>([&] { load_mqm(dir / "fbhuge.mqm"); }, {"fbhuge.mqm", "flatbuffer"});
  // The verifier (on a version 1 file, whose FlatBuffer is stored as it is): a root offset
  // pointing outside the buffer.
  auto root = test::mqm_as_version1(good);
  uint32_t far = 0x7ffffff0;
  std::memcpy(root.data() + 16, &far, 4);
  test::write_bytes(dir / "root.mqm", root);
  test::expect_error<FormatError>([&] { load_mqm(dir / "root.mqm"); }, {"root.mqm", "verifier"});
  // Every single-byte corruption of the compressed FlatBuffer: an mq::Error or a valid graph,
  // never a crash.
  uint64_t stored;
  std::memcpy(&stored, good.data() + 8, 8);
  int errors = 0;
  for (size_t i = 24; i < 24 + stored; ++i) {
    auto c = good;
    c[i] ^= std::byte{0x5a};
    test::write_bytes(dir / "c.mqm", c);
    try {
      load_mqm(dir / "c.mqm");
    } catch (const Error&) {
      ++errors;
    }
  }
  CHECK(errors > 0);
}

TEST_CASE("save_graph / load_graph: extensions and atomic writes") {
  test::TempDir dir;
  Graph g = test::make_quantized_mlp();
  test::expect_error<InvalidArgument>([&] { save_graph(g, dir / "m.bin"); }, {"m.bin", "unknown model extension"});
  test::expect_error<InvalidArgument>([&] { load_graph(dir / "m.onnx"); }, {"ONNX importer"});
  test::expect_error<IoError>([&] { load_graph(dir / "missing.mqm"); }, {"missing.mqm", "cannot open"});
  test::expect_error<IoError>([&] { save_graph(g, dir / "no/such/folder/m.mqm"); }, {"m.mqm"});
  // A failing write leaves an existing file untouched and no temporary file behind.
  save_graph(g, dir / "m.safetensors");
  auto before = read_file(dir / "m.safetensors");
  Graph clash = test::make_float_mlp();
  clash.add_constant("fc.weight.scale", Tensor::scalar<float>(1.f));
  Tensor qw = Tensor::from_vector<int8_t>({1}, {1});
  qw.set_quant(QuantParams{{1.f}, {0}, {}, DType::i8});
  Graph q;
  q.add_constant("w", qw);
  q.add_constant("w.scale", Tensor::scalar<float>(1.f));
  test::expect_error<UnsupportedError>([&] { save_graph(q, dir / "m.safetensors"); }, {"w.scale"});
  CHECK(read_file(dir / "m.safetensors") == before);
  size_t files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path)) files += e.is_regular_file();
  CHECK(files == 1);
  for (const char* ext : {".mqm", ".safetensors", ".pt", ".pth"}) {
    save_graph(g, dir / (std::string("r") + ext));
    test::check_graphs_equal(g, load_graph(dir / (std::string("r") + ext)));
  }
}
