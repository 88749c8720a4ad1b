#pragma once
/// Tensors of the public API: a dtype, dims and a pointer to row-major data, either owned
/// (shared, released with its last copy) or a view over memory the caller keeps alive.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "monoquant/error.h"
#include "monoquant/export.h"

namespace monoquant {

/// Element types.
enum class DType : uint8_t { undefined, f32, f16, bf16, f64, i8, u8, i16, u16, i32, u32, i64, u64, boolean };

/// Bytes per element (0 for undefined).
MONOQUANT_API size_t dtype_size(DType t);
/// Short lowercase name ("f32", "u8", "bool").
MONOQUANT_API const char* dtype_name(DType t);

/// Maps a C++ element type to its DType (float, double, int8_t, uint8_t, int16_t, uint16_t,
/// int32_t, uint32_t, int64_t, uint64_t, bool).
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
constexpr DType dtype_of<uint16_t>() {
  return DType::u16;
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

/// A dense row-major tensor. Copies share the data (a view stays a view).
class MONOQUANT_API Tensor {
 public:
  Tensor() = default;

  /// A zero-filled tensor owning its (64-byte aligned) memory.
  static Tensor allocate(DType dtype, std::vector<int64_t> dims);
  /// A view of `data` (no copy): the caller keeps the memory alive and unchanged while the
  /// tensor or a run using it lives. Throws InvalidArgument on a null pointer with elements
  /// or a negative dim.
  static Tensor view(DType dtype, std::vector<int64_t> dims, void* data);
  /// Typed view (the dtype comes from T).
  template <class T>
  static Tensor view(std::vector<int64_t> dims, T* data) {
    return view(dtype_of<T>(), std::move(dims), static_cast<void*>(data));
  }
  /// A tensor owning a copy of `values`; throws ShapeError when their count is not the
  /// product of `dims`.
  template <class T>
  static Tensor from_vector(std::vector<int64_t> dims, const std::vector<T>& values) {
    Tensor t = allocate(dtype_of<T>(), std::move(dims));
    if (size_t(t.numel()) != values.size()) t.throw_count_mismatch(values.size());
    T* p = t.data<T>();
    for (size_t i = 0; i < values.size(); ++i) p[i] = values[i];
    return t;
  }
  /// Wraps memory kept alive by `owner` (no copy); used for the outputs of a run.
  static Tensor shared(DType dtype, std::vector<int64_t> dims, void* data, std::shared_ptr<void> owner);

  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& dims() const { return dims_; }
  size_t rank() const { return dims_.size(); }
  int64_t numel() const;
  size_t nbytes() const { return size_t(numel()) * dtype_size(dtype_); }
  bool empty() const { return dtype_ == DType::undefined; }
  /// True when the memory belongs to the caller (made by view()).
  bool is_view() const { return !owner_ && data_ != nullptr; }

  void* raw() { return data_; }
  const void* raw() const { return data_; }
  /// Typed pointer; throws InvalidArgument when T is not the tensor's dtype.
  template <class T>
  T* data() {
    check_type(dtype_of<T>());
    return static_cast<T*>(data_);
  }
  template <class T>
  const T* data() const {
    check_type(dtype_of<T>());
    return static_cast<const T*>(data_);
  }
  /// The values as a vector (a copy).
  template <class T>
  std::vector<T> to_vector() const {
    const T* p = data<T>();
    return std::vector<T>(p, p + numel());
  }
  /// A deep copy owning its memory.
  Tensor clone() const;

 private:
  void check_type(DType t) const;
  [[noreturn]] void throw_count_mismatch(size_t given) const;
  DType dtype_ = DType::undefined;
  std::vector<int64_t> dims_;
  void* data_ = nullptr;
  std::shared_ptr<void> owner_;  // null for a view
};

/// Named tensors in or out of a run.
using TensorMap = std::map<std::string, Tensor>;

/// What a model input or output expects.
struct TensorInfo {
  std::string name;
  DType dtype = DType::undefined;
  std::vector<int64_t> dims;           ///< -1 where a dim is symbolic
  std::vector<std::string> dim_names;  ///< the symbol of each symbolic dim ("" for fixed ones)
};

}  // namespace monoquant
