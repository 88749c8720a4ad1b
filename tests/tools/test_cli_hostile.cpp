// The CLI on hostile inputs: external data that is a FIFO (must not hang) and an input too
// large for the memory it is given (exit 3 naming the file, not an internal error).
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "cli_util.h"

using mq::test::Proto;
using mq::test::q;
using mq::test::TempDir;

namespace {

Proto value_info(const std::string& name, int64_t n) {
  Proto d0, d1, shape, tensor, type, vi;
  d0.varint(1, 1);
  d1.varint(1, uint64_t(n));
  shape.message(1, d0).message(1, d1);
  tensor.varint(1, 1).message(2, shape);  // FLOAT
  type.message(1, tensor);
  vi.bytes(1, name).message(2, type);
  return vi;
}

/// X f32[1,in] → MatMul(W f32[in,out], stored in the external file `location`) → Y.
std::string external_matmul(int64_t in, int64_t out, const std::string& location) {
  Proto w, loc;
  w.varint(1, uint64_t(in)).varint(1, uint64_t(out)).varint(2, 1).bytes(8, "W");
  loc.bytes(1, "location").bytes(2, location);
  w.message(13, loc).varint(14, 1);  // external_data, data_location = EXTERNAL
  Proto node, g, opset, m;
  node.bytes(1, "X").bytes(1, "W").bytes(2, "Y").bytes(3, "mm").bytes(4, "MatMul");
  g.message(1, node)
      .bytes(2, "ext")
      .message(5, w)
      .message(11, value_info("X", in))
      .message(12, value_info("Y", out));
  opset.bytes(1, "").varint(2, 13);
  m.varint(1, 7).bytes(2, "monoquant-tests").message(7, g).message(8, opset);
  return m.data;
}

/// Runs `monoquant ARGS` under a shell prefix (limits), killed after 60 s.
mq::test::CliResult run_limited(const std::string& prefix, const std::string& args) {
  TempDir tmp;
  std::string out = tmp / "stdout", err = tmp / "stderr";
  std::string cmd = "bash -c " + q(prefix + "; exec timeout 60 " + q(mq::test::monoquant_path()) + " " + args +
                                   " >" + q(out) + " 2>" + q(err) + " </dev/null");
  int status = std::system(cmd.c_str());
  mq::test::CliResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream e(err);
  r.err.assign(std::istreambuf_iterator<char>(e), {});
  return r;
}

}  // namespace

TEST_CASE("cli: external data that is a FIFO is refused, not waited on") {
  TempDir tmp;
  mq::test::write_file(tmp / "model.onnx", external_matmul(4, 2, "w.bin"));
  REQUIRE(::mkfifo((tmp / "w.bin").c_str(), 0600) == 0);
  auto r = run_limited("true", "inspect " + q(tmp / "model.onnx"));
  CHECK(r.code == 3);  // 124 would be the timeout
  CHECK(r.err.find("model.onnx") != std::string::npos);
  CHECK(r.err.find("not a regular file") != std::string::npos);
}

TEST_CASE("cli: running out of memory on an input exits 3 naming the file") {
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer reserves terabytes of address space: no process starts under ulimit -v.
  MESSAGE("skipped under AddressSanitizer");
  return;
#endif
  TempDir tmp;
  // 2 GiB of weights in a sparse file, read under a 1.5 GB address-space limit.
  mq::test::write_file(tmp / "model.onnx", external_matmul(1024, 524288, "w.bin"));
  { std::ofstream(tmp / "w.bin"); }
  std::filesystem::resize_file(tmp / "w.bin", uintmax_t(1) << 31);
  auto r = run_limited("ulimit -v 1500000", "inspect " + q(tmp / "model.onnx"));
  CHECK(r.code == 3);
  CHECK(r.err.find("model.onnx") != std::string::npos);
  CHECK(r.err.find("out of memory") != std::string::npos);
}
