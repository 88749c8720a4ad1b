// Error helpers: printable echoes of file contents, errors that name the file being read.
#include "ir/error.h"

#include <algorithm>
#include <new>
#include <stdexcept>

namespace mq {

std::string printable(std::string_view s, size_t max) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  size_t chars = 0;
  for (size_t i = 0; i < s.size(); ++chars) {
    if (chars == max) return out + "...";
    auto c = static_cast<unsigned char>(s[i]);
    // Length of a valid UTF-8 sequence starting here (0 = not valid).
    size_t n = c >= 0x20 && c < 0x7f    ? 1
               : c >= 0xc2 && c <= 0xdf ? 2
               : c >= 0xe0 && c <= 0xef ? 3
               : c >= 0xf0 && c <= 0xf4 ? 4
                                        : 0;
    for (size_t k = 1; k < n; ++k)
      if (i + k >= s.size() || (static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) n = 0;
    if (n == 0) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

namespace detail {
namespace {
// Runs of more than 24 digits (numbers echoed from a file, never ones monoquant computed)
// shortened to their first 12 digits and their length.
std::string short_numbers(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    size_t j = i;
    while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
    if (j - i > 24) {
      out += s.substr(i, 12) + "...(" + std::to_string(j - i) + " digits)";
      i = j;
    } else {
      out.append(s, i, std::max(j, i + 1) - i);
      i = std::max(j, i + 1);
    }
  }
  return out;
}

// "<path>: <message>" with the message made printable (its length is not cut here).
std::string for_file(const std::string& path, const std::string& msg) {
  std::string m = msg.rfind(path + ": ", 0) == 0 ? msg.substr(path.size() + 2) : msg;
  return printable(path, 4096) + ": " + short_numbers(printable(m, 1 << 16));
}
[[noreturn]] void out_of_memory(const std::string& path) {
  throw FormatError(
      for_file(path, "out of memory while reading the file (corrupt, or too large for this machine)"));
}
}  // namespace

void rethrow_reading(const std::string& path) {
  try {
    throw;
  } catch (const Error&) {
    rethrow_mapped([&](const std::string& m) { return for_file(path, m); });
  } catch (const std::bad_alloc&) {
    out_of_memory(path);
  } catch (const std::length_error&) {
    out_of_memory(path);
  }
}
}  // namespace detail

}  // namespace mq
