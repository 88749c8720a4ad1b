// monoquant::Error and the translation of the engine's errors into it.
#include <new>
#include <regex>

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
    : std::runtime_error(message), kind_(kind), file_(std::move(file)), node_(std::move(node)),
      field_(std::move(field)) {}
Error::~Error() = default;

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
  std::string node, field;
  static const std::regex node_re("node '([^']*)'");
  static const std::regex field_re("(?:attribute|attributes|tensor|field|input|output|value|constant|array|"
                                   "initializer|entry|member|key) '([^']*)'");
  std::smatch m;
  if (std::regex_search(message, m, node_re)) node = m[1].str();
  for (auto it = std::sregex_iterator(message.begin(), message.end(), field_re); it != std::sregex_iterator(); ++it)
    field = (*it)[1].str();
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
