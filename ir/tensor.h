#pragma once
/// Tensors: dtype, static shape, shared 64-byte aligned storage, optional quant params.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "ir/dtype.h"
#include "ir/error.h"
#include "ir/quant_params.h"
#include "ir/shape.h"

namespace mq {

/// Alignment of every storage monoquant allocates.
inline constexpr size_t kTensorAlignment = 64;

/// A block of bytes: owned (aligned allocation) or borrowed (e.g. a mapped file region,
/// kept alive by `keep_alive`).
class Storage {
 public:
  /// Allocates `bytes` zero-initialized bytes aligned to kTensorAlignment.
  static std::shared_ptr<Storage> allocate(size_t bytes);
  /// Wraps memory owned elsewhere; `keep_alive` holds the owner alive as long as needed.
  static std::shared_ptr<Storage> borrow(void* data, size_t bytes, std::shared_ptr<void> keep_alive);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  std::byte* data() { return data_; }
  const std::byte* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  Storage() = default;
  std::byte* data_ = nullptr;
  size_t size_ = 0;
  bool owned_ = false;
  std::shared_ptr<void> keep_alive_;
};

/// A dense row-major tensor with static dims. Copies share storage (use clone() to copy).
class Tensor {
 public:
  Tensor() = default;
  /// Allocates a zero-filled tensor.
  Tensor(DType dtype, std::vector<int64_t> dims);
  /// Views `storage` at `offset` bytes (no copy).
  Tensor(DType dtype, std::vector<int64_t> dims, std::shared_ptr<Storage> storage, size_t offset = 0);

  /// A tensor holding a copy of `values`.
  template <class T>
  static Tensor from_vector(std::vector<int64_t> dims, const std::vector<T>& values);
  /// A rank-0 tensor holding `v`.
  template <class T>
  static Tensor scalar(T v) {
    return from_vector<T>({}, std::vector<T>{v});
  }

  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& dims() const { return dims_; }
  Shape shape() const { return Shape(dims_); }
  size_t rank() const { return dims_.size(); }
  int64_t dim(size_t i) const { return dims_[i]; }
  int64_t numel() const;
  size_t nbytes() const { return size_t(numel()) * dtype_size(dtype_); }
  bool empty() const { return !storage_; }

  void* raw() { return storage_ ? storage_->data() + offset_ : nullptr; }
  const void* raw() const { return storage_ ? storage_->data() + offset_ : nullptr; }
  /// Typed pointer; throws if T does not match the dtype.
  template <class T>
  T* data();
  template <class T>
  const T* data() const;
  template <class T>
  std::span<const T> span() const {
    return {data<T>(), size_t(numel())};
  }
  /// Values converted to int64 (for shape tensors of any integer type).
  std::vector<int64_t> to_int64() const;
  /// Values converted to float (any numeric dtype).
  std::vector<float> to_float() const;

  /// Same storage, new dims with the same element count.
  Tensor reshaped(std::vector<int64_t> dims) const;
  /// A deep copy with its own storage.
  Tensor clone() const;
  const std::shared_ptr<Storage>& storage() const { return storage_; }
  size_t offset() const { return offset_; }

  /// Content equality: dtype, dims, bytes and quant params.
  bool operator==(const Tensor& o) const;

  const std::optional<QuantParams>& quant() const { return quant_; }
  void set_quant(std::optional<QuantParams> q) { quant_ = std::move(q); }

 private:
  void check_type(DType t) const;
  DType dtype_ = DType::undefined;
  std::vector<int64_t> dims_;
  std::shared_ptr<Storage> storage_;
  size_t offset_ = 0;
  std::optional<QuantParams> quant_;
};

template <class T>
Tensor Tensor::from_vector(std::vector<int64_t> dims, const std::vector<T>& values) {
  Tensor t(dtype_of<T>(), std::move(dims));
  if (size_t(t.numel()) != values.size())
    fail<ShapeError>("tensor of ", t.numel(), " elements given ", values.size(), " values");
  T* p = t.data<T>();
  for (size_t i = 0; i < values.size(); ++i) p[i] = values[i];
  return t;
}

template <class T>
T* Tensor::data() {
  check_type(dtype_of<T>());
  return reinterpret_cast<T*>(raw());
}

template <class T>
const T* Tensor::data() const {
  check_type(dtype_of<T>());
  return reinterpret_cast<const T*>(raw());
}

}  // namespace mq
