#include "engine/buffer_pool.h"

namespace mq {

namespace {
constexpr size_t kMaxFreeBytes = size_t(1) << 31;  // keep at most 2 GiB of idle buffers
}

Tensor BufferPool::acquire(DType dtype, const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (auto d : dims) n *= d;
  size_t bytes = size_t(n) * dtype_size(dtype);
  auto it = free_.lower_bound(bytes);
  // reuse a block that is not much larger than needed
  if (it != free_.end() && it->first <= bytes * 2 + 4096) {
    auto storage = std::move(it->second);
    free_bytes_ -= it->first;
    free_.erase(it);
    return Tensor(dtype, dims, std::move(storage), 0);
  }
  return Tensor(dtype, dims);
}

void BufferPool::release(Tensor t) {
  auto s = t.storage();
  t = Tensor();
  release(std::move(s));
}

void BufferPool::release(std::shared_ptr<Storage> s) {
  if (!s || s.use_count() != 1 || s->size() == 0) return;
  if (free_bytes_ + s->size() > kMaxFreeBytes) return;
  free_bytes_ += s->size();
  free_.emplace(s->size(), std::move(s));
}

}  // namespace mq
