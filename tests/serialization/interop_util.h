#pragma once
// Running the Python interop checks (tests/interop/*.py) with the venv python_peers.sh made.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "serialization/npy.h"
#include "test_helpers.h"

namespace mq::test {

/// The interop python: $MQ_PYTHON, else <source>/.venv/bin/python; empty when absent.
inline std::string interop_python() {
  if (const char* p = std::getenv("MQ_PYTHON"); p && *p) return p;
  std::string p = std::string(MQ_SOURCE_DIR) + "/.venv/bin/python";
  return std::filesystem::exists(p) ? p : "";
}

/// Runs tests/interop/<script> on `folder`; returns its exit code, output in `out`.
inline int run_interop(const std::string& python, const std::string& script, const std::string& folder,
                       std::string& out) {
  std::string cmd =
      "'" + python + "' '" + std::string(MQ_SOURCE_DIR) + "/tests/interop/" + script + "' '" + folder + "' 2>&1";
  FILE* f = ::popen(cmd.c_str(), "r");
  if (!f) return -1;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  int st = ::pclose(f);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/// Saves an expected array as <folder>/expect/<name>.npy for a Python check.
inline void expect_npy(const TempDir& dir, const std::string& name, const Tensor& t) {
  std::filesystem::create_directories(dir.path / "expect");
  Tensor plain = t;
  plain.set_quant(std::nullopt);
  serialization::save_npy(dir / ("expect/" + name + ".npy"), plain);
}

}  // namespace mq::test

/// Skips the current test case with a message when the interop venv is missing.
#define MQ_REQUIRE_INTEROP_PYTHON(var)                                                    \
  std::string var = mq::test::interop_python();                                           \
  if (var.empty()) {                                                                      \
    MESSAGE("skipped: no interop python (run scripts/python_peers.sh or set MQ_PYTHON)"); \
    return;                                                                               \
  }

#define MQ_RUN_INTEROP(python, script, dir)                                     \
  do {                                                                          \
    std::string out_;                                                           \
    int rc_ = mq::test::run_interop(python, script, (dir).path.string(), out_); \
    INFO(script, " output:\n", out_);                                           \
    REQUIRE(rc_ == 0);                                                          \
  } while (0)
