#pragma once
/// monoquant's error type: anything a user or a file can cause. Messages carry a context
/// chain (file → node → attribute), added as the error travels outward.
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace mq {

/// Base of every user-facing error; what() is "ctx1: ctx2: ...: message".
class Error : public std::runtime_error {
 public:
  explicit Error(std::string msg) : std::runtime_error(msg), msg_(std::move(msg)) {}
  const std::string& message() const { return msg_; }

 protected:
  std::string msg_;
};

/// A file is unreadable, truncated, malformed or of an unknown format.
class FormatError : public Error {
 public:
  using Error::Error;
};
/// A model uses an op, attribute or dtype monoquant does not support.
class UnsupportedError : public Error {
 public:
  using Error::Error;
};
/// Shapes or types do not fit together.
class ShapeError : public Error {
 public:
  using Error::Error;
};
/// A caller passed a bad argument (missing input, empty calibration data, bad option).
class InvalidArgument : public Error {
 public:
  using Error::Error;
};
/// An I/O operation failed (cannot open, cannot write).
class IoError : public Error {
 public:
  using Error::Error;
};

/// Throws `E` with a message built from the arguments streamed together.
template <class E = Error, class... Args>
[[noreturn]] void fail(const Args&... args);

/// Runs `fn`; if it throws an mq::Error, rethrows the same kind with `ctx` prepended.
template <class Fn>
auto with_context(const std::string& ctx, Fn&& fn) -> decltype(fn());

/// Characters of a name or value from a file that an error message echoes.
inline constexpr size_t kMaxEchoedChars = 64;

/// Text from a file made safe to echo in an error message: control bytes and bytes that are
/// not valid UTF-8 become \xNN, and text longer than `max` characters is cut ("...").
std::string printable(std::string_view s, size_t max = kMaxEchoedChars);

namespace detail {
/// Called inside a catch block: rethrows the current exception as reading_file promises.
[[noreturn]] void rethrow_reading(const std::string& path);
}  // namespace detail

/// Runs `fn`, which reads the file `path`. Every mq::Error leaving it starts with "<path>: "
/// and holds only printable text (as printable(), numbers of over 24 digits shortened);
/// std::bad_alloc becomes a FormatError naming the file.
template <class Fn>
auto reading_file(const std::string& path, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (...) {
    detail::rethrow_reading(path);
  }
}

}  // namespace mq

#include "ir/error_impl.h"
