// Real models from ../shared/models against their published reference outputs, and mnist8's
// top-1 accuracy on the 10,000 MNIST test images.
//
// Tolerances (|got - want| <= atol + rtol·|want|):
//   mnist8 logits, super_resolution pixels: atol 1e-3, rtol 1e-3
//   bidi_lstm outputs, gtzan_mlp softmax:   atol 1e-4, rtol 1e-3
//
// The .npz reader below (zip central directory, stored or deflated entries, .npy v1/v2
// little-endian headers) is local to this test until serialization/ has one.
#include <doctest/doctest.h>
#include <zlib.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "engine/session.h"
#include "importers/onnx/import.h"

using namespace mq;
namespace fs = std::filesystem;

namespace {
const std::string kModels = std::string(MQ_SHARED_DIR) + "/models";
const std::string kData = std::string(MQ_SHARED_DIR) + "/data";

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE_MESSAGE(f.good(), "cannot open " << path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Inflates `in` (gzip when `window_bits` is 16 + MAX_WBITS, raw deflate when -MAX_WBITS).
std::string inflate_bytes(const std::string& in, int window_bits, size_t size_hint) {
  z_stream zs{};
  REQUIRE(inflateInit2(&zs, window_bits) == Z_OK);
  std::string out;
  out.resize(std::max<size_t>(size_hint, 1 << 16));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = uInt(in.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (zs.total_out == out.size()) out.resize(out.size() * 2);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + zs.total_out);
    zs.avail_out = uInt(out.size() - zs.total_out);
    rc = inflate(&zs, Z_NO_FLUSH);
    REQUIRE_MESSAGE((rc == Z_OK || rc == Z_STREAM_END), "inflate failed: " << rc);
  }
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return out;
}

uint32_t le32(const std::string& s, size_t at) {
  REQUIRE(at + 4 <= s.size());
  uint32_t v;
  std::memcpy(&v, s.data() + at, 4);
  return v;
}
uint16_t le16(const std::string& s, size_t at) {
  REQUIRE(at + 2 <= s.size());
  uint16_t v;
  std::memcpy(&v, s.data() + at, 2);
  return v;
}

// One .npy array.
Tensor parse_npy(const std::string& b) {
  REQUIRE(b.size() >= 10);
  REQUIRE(b.compare(0, 6, "\x93NUMPY") == 0);
  const int major = b[6];
  size_t hlen = major == 1 ? le16(b, 8) : le32(b, 8);
  size_t start = major == 1 ? 10 : 12;
  REQUIRE(start + hlen <= b.size());
  const std::string h = b.substr(start, hlen);
  REQUIRE(h.find("'fortran_order': False") != std::string::npos);
  auto field = [&](const std::string& key) {
    size_t p = h.find("'" + key + "':");
    REQUIRE(p != std::string::npos);
    return p + key.size() + 3;
  };
  size_t d = h.find('\'', field("descr")) + 1;
  const std::string descr = h.substr(d, h.find('\'', d) - d);
  size_t sp = h.find('(', field("shape")) + 1;
  std::vector<int64_t> dims;
  std::string inner = h.substr(sp, h.find(')', sp) - sp);
  std::stringstream ss(inner);
  std::string tok;
  while (std::getline(ss, tok, ','))
    if (tok.find_first_of("0123456789") != std::string::npos) dims.push_back(std::stoll(tok));
  DType dt = descr == "<f4" ? DType::f32 : descr == "|u1" ? DType::u8 : descr == "<i8" ? DType::i64
           : descr == "<i4" ? DType::i32 : DType::undefined;
  REQUIRE_MESSAGE(dt != DType::undefined, "unsupported npy dtype " << descr);
  Tensor t(dt, dims);
  REQUIRE(start + hlen + t.nbytes() <= b.size());
  std::memcpy(t.raw(), b.data() + start + hlen, t.nbytes());
  return t;
}

// Every array of an .npz file, by name (without ".npy").
std::map<std::string, Tensor> read_npz(const std::string& path) {
  const std::string z = read_bytes(path);
  size_t eocd = z.rfind(std::string("PK\x05\x06", 4));
  REQUIRE(eocd != std::string::npos);
  const size_t entries = le16(z, eocd + 10);
  size_t cd = le32(z, eocd + 16);
  std::map<std::string, Tensor> out;
  for (size_t e = 0; e < entries; ++e) {
    REQUIRE(le32(z, cd) == 0x02014b50);
    const uint16_t method = le16(z, cd + 10);
    const uint32_t csize = le32(z, cd + 20), usize = le32(z, cd + 24);
    const uint16_t nlen = le16(z, cd + 28), xlen = le16(z, cd + 30), clen = le16(z, cd + 32);
    const uint32_t local = le32(z, cd + 42);
    std::string name = z.substr(cd + 46, nlen);
    cd += 46 + nlen + xlen + clen;
    REQUIRE(le32(z, local) == 0x04034b50);
    const size_t data = local + 30 + le16(z, local + 26) + le16(z, local + 28);
    REQUIRE(data + csize <= z.size());
    std::string raw = z.substr(data, csize);
    if (method == 8) raw = inflate_bytes(raw, -MAX_WBITS, usize);
    else REQUIRE_MESSAGE(method == 0, "zip method " << method);
    if (name.size() > 4 && name.substr(name.size() - 4) == ".npy") name.resize(name.size() - 4);
    out[name] = parse_npy(raw);
  }
  return out;
}

void check_close(const Tensor& got, const Tensor& want, float atol, float rtol) {
  REQUIRE(got.dims() == want.dims());
  const float* g = got.data<float>();
  const float* w = want.data<float>();
  float worst = 0;
  int64_t bad = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    const float err = std::fabs(g[i] - w[i]);
    worst = std::max(worst, err);
    if (!(err <= atol + rtol * std::fabs(w[i]))) ++bad;
  }
  MESSAGE("max abs error " << worst << " over " << want.numel() << " values");
  CHECK(bad == 0);
}

// Runs test_data_set_*/input_0.pb through the model and compares with output_0.pb.
void check_data_sets(const std::string& model, float atol, float rtol) {
  Graph g = onnx::import_model(kModels + "/" + model + "/model.onnx");
  Session s(g);
  int sets = 0;
  for (int k = 0;; ++k) {
    const std::string dir = kModels + "/" + model + "/test_data_set_" + std::to_string(k);
    if (!fs::exists(dir)) break;
    CAPTURE(dir);
    Tensor in = onnx::read_tensor_file(dir + "/input_0.pb");
    Tensor want = onnx::read_tensor_file(dir + "/output_0.pb");
    TensorMap out = s.run({{s.input_names().at(0), in}});
    check_close(out.at(s.output_names().at(0)), want, atol, rtol);
    ++sets;
  }
  CHECK(sets > 0);
}

std::string gunzip_file(const std::string& path) {
  return inflate_bytes(read_bytes(path), 16 + MAX_WBITS, 8 << 20);
}

uint32_t be32(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) |
         (uint32_t(uint8_t(s[at + 2])) << 8) | uint32_t(uint8_t(s[at + 3]));
}
}  // namespace

TEST_CASE("mnist8 matches its reference logits") { check_data_sets("mnist8", 1e-3f, 1e-3f); }

TEST_CASE("super_resolution matches its reference output") {
  check_data_sets("super_resolution", 1e-3f, 1e-3f);
}

TEST_CASE("mnist8 top-1 accuracy on the 10,000 MNIST test images is at least 98 %") {
  const std::string images = gunzip_file(kData + "/mnist/t10k-images-idx3-ubyte.gz");
  const std::string labels = gunzip_file(kData + "/mnist/t10k-labels-idx1-ubyte.gz");
  REQUIRE(be32(images, 0) == 2051);
  REQUIRE(be32(labels, 0) == 2049);
  const uint32_t n = be32(images, 4), rows = be32(images, 8), cols = be32(images, 12);
  REQUIRE(n == be32(labels, 4));
  REQUIRE(rows == 28);
  REQUIRE(cols == 28);
  REQUIRE(images.size() >= 16 + size_t(n) * 784);
  Graph g = onnx::import_model(kModels + "/mnist8/model.onnx");
  Session s(g);
  const std::string in_name = s.input_names().at(0), out_name = s.output_names().at(0);
  Tensor x(DType::f32, {1, 1, 28, 28});
  uint32_t correct = 0;
  for (uint32_t i = 0; i < n; ++i) {
    for (int p = 0; p < 784; ++p) x.data<float>()[p] = float(uint8_t(images[16 + size_t(i) * 784 + p]));
    Tensor y = s.run({{in_name, x}}).at(out_name);
    const float* l = y.data<float>();
    const int best = int(std::max_element(l, l + 10) - l);
    if (best == int(uint8_t(labels[8 + i]))) ++correct;
  }
  const double acc = double(correct) / double(n);
  MESSAGE("mnist8 top-1 on " << n << " MNIST test images: " << 100.0 * acc << " %");
  CHECK(acc >= 0.98);
}

TEST_CASE("bidi_lstm matches ONNX Runtime's output") {
  auto io = read_npz(kModels + "/bidi_lstm/io.npz");
  Graph g = onnx::import_model(kModels + "/bidi_lstm/model.onnx");
  Session s(g);
  TensorMap out = s.run({{s.input_names().at(0), io.at("input")}});
  check_close(out.at(s.output_names().at(0)), io.at("Add_26"), 1e-4f, 1e-3f);
}

TEST_CASE("gtzan_mlp matches its expected softmax") {
  auto io = read_npz(kModels + "/gtzan_mlp/io.npz");
  Graph g = onnx::import_model(kModels + "/gtzan_mlp/model.onnx");
  Session s(g);
  TensorMap out = s.run({{s.input_names().at(0), io.at("input")}});
  check_close(out.at(s.output_names().at(0)), io.at("expected"), 1e-4f, 1e-3f);
}
