#pragma once
/// The one exception type of the public API.
#include <stdexcept>
#include <string>

#include "monoquant/export.h"

namespace monoquant {

/// What went wrong.
enum class ErrorKind {
  format,            ///< a file is unreadable, truncated, malformed or of an unknown format
  unsupported,       ///< the model uses an op, attribute or dtype monoquant does not support
  shape,             ///< shapes or types do not fit together
  invalid_argument,  ///< a bad argument: missing input, empty calibration data, bad option
  io,                ///< an I/O operation failed (cannot open, cannot write)
  validation,        ///< quantization validation failed (QuantizeOptions::on_failure = error)
  other,             ///< anything else monoquant reports
};

/// "format", "unsupported", "shape", "invalid_argument", "io", "validation", "other".
MONOQUANT_API const char* error_kind_name(ErrorKind kind);

/// Every error monoquant reports. what() is the full message with its context chain
/// ("file: node 'x' (Conv): attribute 'pads': ..."); file(), node() and field() are the
/// parts of that chain, empty when the error has none.
class MONOQUANT_API Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message, std::string file = {}, std::string node = {},
        std::string field = {});
  ~Error() override;
  Error(const Error&) = default;
  Error& operator=(const Error&) = default;

  ErrorKind kind() const { return kind_; }
  /// The file being read or written.
  const std::string& file() const { return file_; }
  /// The name of the node the error is about.
  const std::string& node() const { return node_; }
  /// The attribute, tensor, input or file field the error is about.
  const std::string& field() const { return field_; }

 private:
  ErrorKind kind_;
  std::string file_, node_, field_;
};

}  // namespace monoquant
