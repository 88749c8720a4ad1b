// .npy / .npz round trips and bad inputs.
#include "serialization/npy.h"
#include "serialization/zip.h"
#include "test_helpers.h"

using namespace mq;
using namespace mq::serialization;

namespace {
Tensor sample(DType dt, std::vector<int64_t> dims) {
  Tensor t(dt, dims);
  auto* p = static_cast<uint8_t*>(t.raw());
  for (size_t i = 0; i < t.nbytes(); ++i) p[i] = uint8_t(i * 37 + 11);
  if (dt == DType::boolean)
    for (size_t i = 0; i < t.nbytes(); ++i) p[i] &= 1;
  if (dt == DType::f32 || dt == DType::f64) {  // keep floats finite
    if (dt == DType::f32)
      for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = float(i) * 0.5f - 3.f;
    else
      for (int64_t i = 0; i < t.numel(); ++i) t.data<double>()[i] = double(i) * 0.25 - 1.0;
  }
  return t;
}
}  // namespace

TEST_CASE("npy: round trip of every dtype and rank") {
  test::TempDir dir;
  for (DType dt : {DType::f32, DType::f64, DType::i8, DType::u8, DType::i16, DType::i32, DType::i64,
                   DType::boolean, DType::f16, DType::u16, DType::u32, DType::u64}) {
    for (auto dims : std::vector<std::vector<int64_t>>{{}, {5}, {2, 3}, {2, 0, 4}, {1, 2, 3, 4}}) {
      Tensor t = sample(dt, dims);
      std::string p = dir / "a.npy";
      save_npy(p, t);
      Tensor u = load_npy(p);
      CHECK(u == t);
    }
  }
}

TEST_CASE("npz: round trip and deflated members") {
  test::TempDir dir;
  std::map<std::string, Tensor> m{{"x", sample(DType::f32, {2, 3})}, {"y", sample(DType::i64, {4})}};
  save_npz(dir / "a.npz", m);
  auto r = load_npz(dir / "a.npz");
  REQUIRE(r.size() == 2);
  CHECK(r.at("x") == m.at("x"));
  CHECK(r.at("y") == m.at("y"));
}

TEST_CASE("npy: bad inputs fail with clear errors") {
  test::TempDir dir;
  BufferSink good;
  write_npy(good, sample(DType::f32, {2, 3}));
  auto g = good.bytes();
  auto parse = [](std::vector<std::byte> b) { return read_npy(b, "t.npy"); };
  auto with_header = [](const std::string& h, size_t data_bytes) {
    std::string s = "\x93NUMPY";
    s += char(1);
    s += char(0);
    s += char(h.size() & 0xff);
    s += char(h.size() >> 8);
    s += h;
    s += std::string(data_bytes, '\0');
    return test::bytes_of(s);
  };
  // truncated everywhere
  for (size_t n : {size_t(0), size_t(3), size_t(9), size_t(40), g.size() - 1})
    test::expect_error<FormatError>([&] { parse({g.begin(), g.begin() + long(n)}); }, {"t.npy"});
  test::expect_error<FormatError>([&] { parse(test::bytes_of("NOTNUMPYxxxx")); }, {"t.npy", "magic"});
  // header length larger than the file
  auto b = g;
  b[8] = std::byte{0xff};
  b[9] = std::byte{0xff};
  test::expect_error<FormatError>([&] { parse(b); }, {"t.npy", "header", "truncated"});
  test::expect_error<FormatError>(
      [&] { parse(with_header("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", 8)); },
      {"fortran_order", "Fortran"});
  test::expect_error<FormatError>(
      [&] { parse(with_header("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8)); },
      {"descr", "big-endian"});
  test::expect_error<FormatError>(
      [&] { parse(with_header("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", 16)); },
      {"descr", "unsupported dtype"});
  test::expect_error<FormatError>(
      [&] { parse(with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 8)); },
      {"data", "expected 12 bytes"});
  test::expect_error<FormatError>(
      [&] { parse(with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (-3,), }", 8)); },
      {"npy header"});
  test::expect_error<FormatError>(
      [&] {
        parse(
            with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (281474976710655, "
                        "281474976710655, 281474976710655), }",
                        8));
      },
      {"overflow"});
  test::expect_error<FormatError>([&] { parse(with_header("{'descr': '<f4'}", 0)); }, {"required"});
  test::expect_error<FormatError>(
      [&] { parse(with_header("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': ()}", 4)); },
      {"repeated key"});
  test::expect_error<IoError>([&] { load_npy(dir / "missing.npy"); }, {"missing.npy", "cannot open"});
}
