#pragma once
// Helpers shared by the serialization tests: temp folders, hand-built graphs, byte edits.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "ir/graph.h"
#include "serialization/io.h"

namespace mq::test {

/// A fresh folder under the system temp dir, removed when the object goes away.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "mq_serial_XXXXXX").string();
    path = ::mkdtemp(templ.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

/// Runs `fn`, expects an exception of type E whose message contains every fragment.
template <class E, class Fn>
void expect_error(Fn&& fn, std::initializer_list<std::string> fragments) {
  try {
    fn();
    FAIL("no exception thrown; expected one mentioning ", *fragments.begin());
  } catch (const E& e) {
    std::string msg = e.what();
    for (auto& f : fragments) CHECK_MESSAGE(msg.find(f) != std::string::npos, "message: ", msg, " lacks: ", f);
  }
}

inline std::vector<std::byte> bytes_of(const std::string& s) {
  auto* p = reinterpret_cast<const std::byte*>(s.data());
  return {p, p + s.size()};
}

inline void write_bytes(const std::string& path, std::span<const std::byte> b) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

/// input x[batch,4] → Linear(int8 per-channel weight [3,4], f32 bias) → Relu → output.
Graph make_quantized_mlp();
/// input x[2,4] → Linear(f32 weight, bias) → Relu → Add(const) → output.
Graph make_float_mlp();
/// Structure, types, attrs and constant bytes equal (names, ops, wiring).
void check_graphs_equal(const Graph& a, const Graph& b);
/// The same .mqm file as format version 1 wrote it (FlatBuffer stored uncompressed after a
/// 16-byte preamble), from a version 2 file's bytes.
std::vector<std::byte> mqm_as_version1(const std::vector<std::byte>& v2);

}  // namespace mq::test
