#pragma once
// Helpers of the CLI tests: run the real monoquant binary, temporary folders, hand-made
// ONNX bytes (the tools tests do not link protobuf), MNIST as .npy.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace mq::test {

/// What one run of the binary produced.
struct CliResult {
  int code = -1;
  std::string out;  ///< stdout
  std::string err;  ///< stderr
};

/// Path of the monoquant binary under test.
std::string monoquant_path();
/// Runs `monoquant ARGS` (args are shell words, already quoted where needed).
CliResult run_cli(const std::string& args);
/// Single-quotes a path for the shell.
std::string q(const std::string& s);

/// A temporary folder removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::filesystem::path path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

/// Minimal protobuf writer for hand-made ONNX models.
class Proto {
 public:
  Proto& varint(int field, uint64_t v);
  Proto& bytes(int field, const std::string& s);
  Proto& message(int field, const Proto& m) { return bytes(field, m.data); }
  std::string data;
};

/// An ONNX model X f32[batch,4] → op_type → Y, one node (for unsupported-op tests).
std::string onnx_single_op_model(const std::string& op_type);
/// An ONNX model X f32[batch,in] → MatMul(W[in,out]) → Add(B) → Relu → Y (a quantizable MLP).
std::string onnx_mlp_model(int in, int out, uint32_t seed = 1);
/// Writes bytes to a file.
void write_file(const std::string& path, const std::string& bytes);

/// Decompresses the shared MNIST test set into `dir` as images.npy (u8 [n,28,28]),
/// images_f32.npy (f32 [n,1,28,28], 0–255) and labels.npy (u8 [n]); false when absent.
bool mnist_npy(const std::string& dir, int64_t n);

}  // namespace mq::test
