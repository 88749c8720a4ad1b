#pragma once
/// Element types of tensors and values.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mq {

#define MQ_DTYPE_LIST(X) \
  X(f32, float, 4)       \
  X(f16, uint16_t, 2)    \
  X(bf16, uint16_t, 2)   \
  X(f64, double, 8)      \
  X(i8, int8_t, 1)       \
  X(u8, uint8_t, 1)      \
  X(i16, int16_t, 2)     \
  X(u16, uint16_t, 2)    \
  X(i32, int32_t, 4)     \
  X(u32, uint32_t, 4)    \
  X(i64, int64_t, 8)     \
  X(u64, uint64_t, 8)    \
  X(boolean, bool, 1)

/// Element type. `undefined` marks a value whose type is not known yet.
enum class DType : uint8_t {
  undefined,
#define MQ_X(name, ctype, size) name,
  MQ_DTYPE_LIST(MQ_X)
#undef MQ_X
};

/// Bytes per element (0 for undefined).
size_t dtype_size(DType t);
/// Short lowercase name ("f32", "u8", "bool").
std::string_view dtype_name(DType t);
/// Parses a name from dtype_name; returns undefined when unknown.
DType dtype_from_name(std::string_view name);
/// True for f16, bf16, f32, f64.
bool is_float(DType t);
/// True for the signed and unsigned integer types.
bool is_integer(DType t);

/// Maps a C++ element type to its DType.
template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::f32;
}
template <>
constexpr DType dtype_of<double>() {
  return DType::f64;
}
template <>
constexpr DType dtype_of<int8_t>() {
  return DType::i8;
}
template <>
constexpr DType dtype_of<uint8_t>() {
  return DType::u8;
}
template <>
constexpr DType dtype_of<int16_t>() {
  return DType::i16;
}
template <>
constexpr DType dtype_of<int32_t>() {
  return DType::i32;
}
template <>
constexpr DType dtype_of<uint32_t>() {
  return DType::u32;
}
template <>
constexpr DType dtype_of<int64_t>() {
  return DType::i64;
}
template <>
constexpr DType dtype_of<uint64_t>() {
  return DType::u64;
}
template <>
constexpr DType dtype_of<bool>() {
  return DType::boolean;
}

}  // namespace mq
