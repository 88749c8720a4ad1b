#pragma once
// libFuzzer entry helpers: run a reader on the input; mq::Error is an expected outcome.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <span>
#include <string>

#include "ir/error.h"

namespace mq::fuzz {
inline std::span<const std::byte> bytes(const uint8_t* d, size_t n) {
  return {reinterpret_cast<const std::byte*>(d), n};
}
/// Writes the input to a per-process temp file (for readers that take a path).
inline std::string to_file(const uint8_t* d, size_t n, const char* ext) {
  static const std::string path = "/tmp/mq_fuzz_" + std::to_string(::getpid()) + ext;
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(d), std::streamsize(n));
  return path;
}
template <class Fn>
int run(Fn&& fn) {
  try {
    fn();
  } catch (const mq::Error&) {
  }
  return 0;
}
}  // namespace mq::fuzz
