#include "tools/cli_util.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "ir/tensor.h"
#include "serialization/npy.h"

namespace fs = std::filesystem;

namespace mq::test {

std::string monoquant_path() { return std::string(MQ_BINARY_DIR) + "/tools/monoquant"; }

std::string q(const std::string& s) {
  std::string r = "'";
  for (char c : s) {
    if (c == '\'') r += "'\\''";
    else r += c;
  }
  return r + "'";
}

namespace {
std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}
}  // namespace

CliResult run_cli(const std::string& args) {
  TempDir tmp;
  std::string out = tmp / "stdout", err = tmp / "stderr";
  std::string cmd = q(monoquant_path()) + " " + args + " >" + q(out) + " 2>" + q(err) + " </dev/null";
  int status = std::system(cmd.c_str());
  CliResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "mq_cli_XXXXXX").string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

Proto& Proto::varint(int field, uint64_t v) {
  uint64_t key = uint64_t(field) << 3;
  auto put = [&](uint64_t x) {
    while (x >= 0x80) {
      data += char((x & 0x7f) | 0x80);
      x >>= 7;
    }
    data += char(x);
  };
  put(key);
  put(v);
  return *this;
}

Proto& Proto::bytes(int field, const std::string& s) {
  uint64_t key = (uint64_t(field) << 3) | 2;
  auto put = [&](uint64_t x) {
    while (x >= 0x80) {
      data += char((x & 0x7f) | 0x80);
      x >>= 7;
    }
    data += char(x);
  };
  put(key);
  put(s.size());
  data += s;
  return *this;
}

namespace {

Proto value_info(const std::string& name, const std::vector<int64_t>& dims, bool symbolic_batch) {
  Proto shape;
  for (size_t i = 0; i < dims.size(); ++i) {
    Proto d;
    if (i == 0 && symbolic_batch) d.bytes(2, "batch");
    else d.varint(1, uint64_t(dims[i]));
    shape.message(1, d);
  }
  Proto tensor;
  tensor.varint(1, 1).message(2, shape);  // FLOAT
  Proto type;
  type.message(1, tensor);
  Proto vi;
  vi.bytes(1, name).message(2, type);
  return vi;
}

Proto float_initializer(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& v) {
  Proto t;
  for (int64_t d : dims) t.varint(1, uint64_t(d));
  t.varint(2, 1);
  t.bytes(8, name);
  t.bytes(9, std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)));
  return t;
}

Proto node(const std::string& op, const std::vector<std::string>& ins, const std::vector<std::string>& outs,
           const std::string& name) {
  Proto n;
  for (auto& i : ins) n.bytes(1, i);
  for (auto& o : outs) n.bytes(2, o);
  n.bytes(3, name).bytes(4, op);
  return n;
}

std::string model(const Proto& graph) {
  Proto opset;
  opset.bytes(1, "").varint(2, 13);
  Proto m;
  m.varint(1, 7).bytes(2, "monoquant-tests").message(7, graph).message(8, opset);
  return m.data;
}

}  // namespace

std::string onnx_single_op_model(const std::string& op_type) {
  Proto g;
  g.message(1, node(op_type, {"X"}, {"Y"}, "mystery"));
  g.bytes(2, "unsupported");
  g.message(11, value_info("X", {1, 4}, true));
  g.message(12, value_info("Y", {1, 4}, true));
  return model(g);
}

std::string onnx_mlp_model(int in, int out, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.f, 1.f / std::sqrt(float(in)));
  std::vector<float> w(size_t(in) * size_t(out));
  std::vector<float> b(static_cast<size_t>(out));
  for (auto& x : w) x = nd(rng);
  for (auto& x : b) x = nd(rng) * 0.1f;
  Proto g;
  g.message(1, node("MatMul", {"X", "W"}, {"XW"}, "fc"));
  g.message(1, node("Add", {"XW", "B"}, {"H"}, "fc_bias"));
  g.message(1, node("Relu", {"H"}, {"Y"}, "relu"));
  g.bytes(2, "mlp");
  g.message(5, float_initializer("W", {in, out}, w));
  g.message(5, float_initializer("B", {out}, b));
  g.message(11, value_info("X", {1, in}, true));
  g.message(12, value_info("Y", {1, out}, true));
  return model(g);
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f << bytes;
}

bool mnist_npy(const std::string& dir, int64_t n) {
  std::string src = std::string(MQ_SHARED_DIR) + "/data/mnist/";
  if (!fs::exists(src + "t10k-images-idx3-ubyte.gz")) return false;
  std::string cmd = "gzip -dc " + q(src + "t10k-images-idx3-ubyte.gz") + " > " + q(dir + "/images.idx") +
                    " && gzip -dc " + q(src + "t10k-labels-idx1-ubyte.gz") + " > " + q(dir + "/labels.idx");
  if (std::system(cmd.c_str()) != 0) return false;
  std::string images = slurp(dir + "/images.idx"), labels = slurp(dir + "/labels.idx");
  if (images.size() < size_t(16 + n * 784) || labels.size() < size_t(8 + n)) return false;
  Tensor u8(DType::u8, {n, 28, 28}), f32(DType::f32, {n, 1, 28, 28}), lab(DType::u8, {n});
  for (int64_t i = 0; i < n * 784; ++i) {
    uint8_t v = uint8_t(images[size_t(16 + i)]);
    u8.data<uint8_t>()[i] = v;
    f32.data<float>()[i] = float(v);
  }
  for (int64_t i = 0; i < n; ++i) lab.data<uint8_t>()[i] = uint8_t(labels[size_t(8 + i)]);
  serialization::save_npy(dir + "/images.npy", u8);
  serialization::save_npy(dir + "/images_f32.npy", f32);
  serialization::save_npy(dir + "/labels.npy", lab);
  return true;
}

}  // namespace mq::test
