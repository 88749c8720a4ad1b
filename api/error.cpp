// monoquant::Error and the translation of the engine's errors into it.
#include <new>
#include <cctype>

#include "api/convert.h"

namespace monoquant {

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::format: return "format";
    case ErrorKind::unsupported: return "unsupported";
    case ErrorKind::shape: return "shape";
    case ErrorKind::invalid_argument: return "invalid_argument";
    case ErrorKind::io: return "io";
    case ErrorKind::validation: return "validation";
    case ErrorKind::other: break;
  }
  return "other";
}

Error::Error(ErrorKind kind, const std::string& message, std::string file, std::string node, std::string field)
    : std::runtime_error(message),
      kind_(kind),
      file_(std::move(file)),
      node_(std::move(node)),
      field_(std::move(field)) {}
Error::~Error() = default;

namespace {
/// The name quoted after the first (or last) "<word> '" in `text` standing as a word of its
/// own; empty when there is none. `where` receives its position.
std::string quoted_after(const std::string& text, const std::string& word, bool last, size_t* where = nullptr) {
  const std::string key = word + " '";
  std::string found;
  for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + 1)) {
    if (at > 0 && (std::isalnum(static_cast<unsigned char>(text[at - 1])) || text[at - 1] == '_')) continue;
    size_t begin = at + key.size(), end = text.find('\'', begin);
    if (end == std::string::npos) break;
    found = text.substr(begin, end - begin);
    if (where) *where = at;
    if (!last) break;
  }
  return found;
}
}  // namespace

Error to_public_error(ErrorKind kind, const std::string& message, const std::string& file) {
  std::string found_file;
  if (!file.empty() && message.rfind(file + ": ", 0) == 0) {
    found_file = file;
  } else if (size_t colon = message.find(": "); colon != std::string::npos) {
    std::string first = message.substr(0, colon);  // a path: no spaces, has a '/' or an extension
    if (!first.empty() && first.find_first_of(" '\"") == std::string::npos &&
        first.find_first_of("/.") != std::string::npos)
      found_file = first;
  }
  std::string node = quoted_after(message, "node", false);
  std::string field;
  size_t field_at = 0;
  for (const char* word : {"attribute", "attributes", "tensor", "field", "input", "output", "value", "constant",
                           "array", "initializer", "entry", "member", "key"}) {
    size_t at = 0;
    std::string name = quoted_after(message, word, true, &at);
    if (!name.empty() && at >= field_at) {
      field = name;
      field_at = at;
    }
  }
  return Error(kind, message, found_file, node, field);
}

void rethrow_public(const std::string& file) {
  try {
    throw;
  } catch (const mq::ValidationError& e) {
    throw to_public_error(ErrorKind::validation, e.message(), file);
  } catch (const mq::FormatError& e) {
    throw to_public_error(ErrorKind::format, e.message(), file);
  } catch (const mq::UnsupportedError& e) {
    throw to_public_error(ErrorKind::unsupported, e.message(), file);
  } catch (const mq::ShapeError& e) {
    throw to_public_error(ErrorKind::shape, e.message(), file);
  } catch (const mq::InvalidArgument& e) {
    throw to_public_error(ErrorKind::invalid_argument, e.message(), file);
  } catch (const mq::IoError& e) {
    throw to_public_error(ErrorKind::io, e.message(), file);
  } catch (const mq::Error& e) {
    throw to_public_error(ErrorKind::other, e.message(), file);
  } catch (const std::bad_alloc&) {
    throw to_public_error(ErrorKind::other, file.empty() ? "out of memory" : file + ": out of memory", file);
  } catch (const std::exception& e) {
    throw to_public_error(ErrorKind::other, e.what(), file);
  }
}

}  // namespace monoquant
