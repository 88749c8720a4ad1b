#pragma once
/// Conversions between the public API's types (include/monoquant/) and the engine's, and the
/// one place that turns an engine error into the public monoquant::Error.
#define MONOQUANT_NO_MQ_ALIAS
#include <string>
#include <utility>

#include "engine/api.h"
#include "engine/quantize.h"
#include "monoquant/monoquant.h"

namespace monoquant {

/// The model behind a public Model handle.
struct Model::Impl {
  mq::Graph graph;
};

mq::DType to_engine(DType t);
DType to_public(mq::DType t);
/// A view of the public tensor's memory (no copy); the engine tensor keeps an owned
/// tensor's memory alive, a view's memory is the caller's.
mq::Tensor to_engine(const Tensor& t);
/// The engine tensor's memory, shared (no copy).
Tensor to_public(const mq::Tensor& t);
mq::TensorMap to_engine(const TensorMap& m);
TensorMap to_public(const mq::TensorMap& m);
TensorInfo info_of(const mq::Value& v);

mq::CalibrationOptions to_engine(const CalibrationOptions& o);
mq::QuantizeOptions to_engine(const QuantizeOptions& o);
Report to_public(const mq::QuantizationInfo& info);
mq::QuantizationInfo to_engine(const Report& r);

/// Splits an engine error message into the public error's parts: `file` when the message
/// starts with it (or with a path-like first context), the node of its first
/// "node '<name>'" context, the field of its last "attribute|tensor|input|... '<name>'".
Error to_public_error(ErrorKind kind, const std::string& message, const std::string& file);

/// Runs `fn`; an engine error leaves as a monoquant::Error of the same kind (`file` is the
/// file the call reads or writes, if any).
[[noreturn]] void rethrow_public(const std::string& file);
template <class Fn>
auto guarded(Fn&& fn, const std::string& file = {}) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Error&) {
    throw;
  } catch (...) {
    rethrow_public(file);
  }
}

}  // namespace monoquant
