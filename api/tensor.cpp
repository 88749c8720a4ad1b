// monoquant::Tensor: owned or borrowed row-major memory.
#include <cstring>

#include "api/convert.h"

namespace monoquant {

size_t dtype_size(DType t) { return mq::dtype_size(to_engine(t)); }
const char* dtype_name(DType t) { return mq::dtype_name(to_engine(t)).data(); }

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : dims_) n *= d;
  return n;
}

Tensor Tensor::allocate(DType dtype, std::vector<int64_t> dims) {
  return guarded([&] {
    mq::Tensor t(to_engine(dtype), dims);  // checks the dims, 64-byte aligned, zero-filled
    return to_public(t);
  });
}

Tensor Tensor::view(DType dtype, std::vector<int64_t> dims, void* data) {
  Tensor t;
  t.dtype_ = dtype;
  t.dims_ = std::move(dims);
  for (int64_t d : t.dims_)
    if (d < 0) throw Error(ErrorKind::invalid_argument, "Tensor::view: negative dim " + std::to_string(d));
  if (dtype == DType::undefined) throw Error(ErrorKind::invalid_argument, "Tensor::view: undefined dtype");
  if (!data && t.numel() > 0)
    throw Error(ErrorKind::invalid_argument, "Tensor::view: null data for a non-empty tensor");
  t.data_ = data;
  return t;
}

Tensor Tensor::shared(DType dtype, std::vector<int64_t> dims, void* data, std::shared_ptr<void> owner) {
  Tensor t;
  t.dtype_ = dtype;
  t.dims_ = std::move(dims);
  t.data_ = data;
  t.owner_ = owner ? std::move(owner) : std::make_shared<int>(0);  // owned, even if empty
  return t;
}

Tensor Tensor::clone() const {
  Tensor t = allocate(dtype_, dims_);
  if (nbytes()) std::memcpy(t.raw(), data_, nbytes());
  return t;
}

void Tensor::check_type(DType t) const {
  if (t != dtype_)
    throw Error(ErrorKind::invalid_argument,
                std::string("tensor of dtype ") + dtype_name(dtype_) + " read as " + dtype_name(t));
}

void Tensor::throw_count_mismatch(size_t given) const {
  throw Error(ErrorKind::shape,
              "tensor of " + std::to_string(numel()) + " elements given " + std::to_string(given) + " values");
}

const char* version() { return MONOQUANT_VERSION_STRING; }

}  // namespace monoquant
