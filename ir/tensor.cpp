#include "ir/tensor.h"

#include "ir/quant_operands.h"

#include <limits>
#include <type_traits>

#include <cstdlib>
#include <cstring>
#include <new>

namespace mq {

std::shared_ptr<Storage> Storage::allocate(size_t bytes) {
  constexpr size_t kMaxStorageBytes = size_t(1) << 40;  // 1 TiB, also the sanitizers' limit
  auto s = std::shared_ptr<Storage>(new Storage());
  size_t rounded = (bytes + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
  if (rounded == 0) rounded = kTensorAlignment;
  // a shape read from a file can ask for anything: fail with a message rather than abort
  if (bytes > kMaxStorageBytes)
    fail<ShapeError>("a tensor of ", bytes, " bytes is too large (limit ", kMaxStorageBytes, ")");
  void* p = std::aligned_alloc(kTensorAlignment, rounded);
  if (!p) fail<Error>("out of memory allocating a tensor of ", bytes, " bytes");
  std::memset(p, 0, rounded);
  s->data_ = static_cast<std::byte*>(p);
  s->size_ = bytes;
  s->owned_ = true;
  return s;
}

std::shared_ptr<Storage> Storage::borrow(void* data, size_t bytes, std::shared_ptr<void> keep_alive) {
  auto s = std::shared_ptr<Storage>(new Storage());
  s->data_ = static_cast<std::byte*>(data);
  s->size_ = bytes;
  s->keep_alive_ = std::move(keep_alive);
  return s;
}

Storage::~Storage() {
  if (owned_) std::free(data_);
}

static int64_t checked_numel(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (auto d : dims) {
    if (d < 0) fail<ShapeError>("negative dimension ", d, " in a tensor");
    if (d != 0 && n > (int64_t(1) << 48) / d) fail<ShapeError>("tensor is too large (more than 2^48 elements)");
    n *= d;
  }
  return n;
}

Tensor::Tensor(DType dtype, std::vector<int64_t> dims) : dtype_(dtype), dims_(std::move(dims)) {
  storage_ = Storage::allocate(size_t(checked_numel(dims_)) * dtype_size(dtype_));
}

Tensor::Tensor(DType dtype, std::vector<int64_t> dims, std::shared_ptr<Storage> storage, size_t offset)
    : dtype_(dtype), dims_(std::move(dims)), storage_(std::move(storage)), offset_(offset) {
  size_t need = size_t(checked_numel(dims_)) * dtype_size(dtype_);
  if (!storage_ || offset_ > storage_->size() || storage_->size() - offset_ < need)
    fail<FormatError>("tensor view of ", need, " bytes at offset ", offset_, " exceeds its storage of ",
                      storage_ ? storage_->size() : 0, " bytes");
}

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (auto d : dims_) n *= d;
  return n;
}

void Tensor::check_type(DType t) const {
  bool ok = t == dtype_ || (dtype_size(t) == dtype_size(dtype_) &&
                            ((t == DType::u16 && (dtype_ == DType::f16 || dtype_ == DType::bf16))));
  if (!ok) fail<Error>("tensor of dtype ", dtype_name(dtype_), " accessed as ", dtype_name(t));
}

/// static_cast, but a float out of an integer type's range saturates (NaN gives 0) instead
/// of being undefined behaviour: shape operands in hostile files can hold any float.
template <class Out, class In>
static Out convert_one(In x) {
  if constexpr (std::is_floating_point_v<In> && std::is_integral_v<Out>) {
    if (!(x == x)) return Out(0);
    if (x <= In(std::numeric_limits<Out>::min())) return std::numeric_limits<Out>::min();
    if (x >= In(std::numeric_limits<Out>::max())) return std::numeric_limits<Out>::max();
  }
  return static_cast<Out>(x);
}

template <class Out>
static std::vector<Out> convert_all(const Tensor& t) {
  std::vector<Out> v(size_t(t.numel()));
  switch (t.dtype()) {
#define MQ_X(nm, ct, sz)                                                 \
  case DType::nm: {                                                      \
    auto* p = static_cast<const ct*>(t.raw());                           \
    for (size_t i = 0; i < v.size(); ++i) v[i] = convert_one<Out>(p[i]); \
    break;                                                               \
  }
    MQ_DTYPE_LIST(MQ_X)
#undef MQ_X
    default: fail<Error>("cannot convert a tensor of dtype ", dtype_name(t.dtype()));
  }
  return v;
}

std::vector<int64_t> Tensor::to_int64() const { return convert_all<int64_t>(*this); }

std::vector<float> Tensor::to_float() const {
  if (dtype_ == DType::f16 || dtype_ == DType::bf16)
    fail<UnsupportedError>("conversion of ", dtype_name(dtype_), " tensors to float");
  return convert_all<float>(*this);
}

Tensor Tensor::reshaped(std::vector<int64_t> dims) const {
  Tensor t = *this;
  if (checked_numel(dims) != numel())
    fail<ShapeError>("cannot reshape ", Shape(dims_).str(), " into ", Shape(dims).str());
  t.dims_ = std::move(dims);
  return t;
}

bool Tensor::operator==(const Tensor& o) const {
  return dtype_ == o.dtype_ && dims_ == o.dims_ && quant_ == o.quant_ &&
         (nbytes() == 0 || std::memcmp(raw(), o.raw(), nbytes()) == 0);
}

Tensor Tensor::clone() const {
  Tensor t(dtype_, dims_);
  if (nbytes()) std::memcpy(t.raw(), raw(), nbytes());
  t.quant_ = quant_;
  return t;
}

Tensor scale_scalar(const QuantParams& q) { return Tensor::scalar<float>(q.scales.at(0)); }

Tensor zero_point_scalar(const QuantParams& q) {
  const int32_t z = q.zero_points.empty() ? 0 : q.zero_points[0];
  if (q.qtype == DType::i8) return Tensor::scalar<int8_t>(int8_t(z));
  return Tensor::scalar<uint8_t>(uint8_t(z));
}

Tensor scale_operand(const QuantParams& q) {
  if (!q.per_channel()) return scale_scalar(q);
  return Tensor::from_vector<float>({int64_t(q.scales.size())}, q.scales);
}

Tensor zero_point_operand(const QuantParams& q) {
  if (!q.per_channel()) return zero_point_scalar(q);
  const int64_t c = int64_t(q.zero_points.size());
  if (q.qtype == DType::i8)
    return Tensor::from_vector<int8_t>({c}, std::vector<int8_t>(q.zero_points.begin(), q.zero_points.end()));
  return Tensor::from_vector<uint8_t>({c}, std::vector<uint8_t>(q.zero_points.begin(), q.zero_points.end()));
}

}  // namespace mq
