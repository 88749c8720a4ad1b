#pragma once
// Test helpers for error messages: the text a call throws, and substring checks on it.
#include <functional>
#include <string>

#include "ir/error.h"

namespace mq::test {

/// The message of the mq::Error `fn` throws, or "no error".
inline std::string message_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace mq::test
