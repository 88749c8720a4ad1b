#include "engine/buffer_pool.h"

#include <algorithm>

namespace mq {

namespace {
constexpr size_t kMaxFreeBytes = size_t(1) << 31;  // keep at most 2 GiB of idle buffers
}

Tensor BufferPool::acquire(DType dtype, const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (auto d : dims) n *= d;
  size_t bytes = size_t(n) * dtype_size(dtype);
  auto it = std::lower_bound(free_.begin(), free_.end(), bytes,
                             [](const auto& entry, size_t b) { return entry.first < b; });
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
  const size_t size = s->size();
  auto at = std::upper_bound(free_.begin(), free_.end(), size,
                             [](size_t b, const auto& entry) { return b < entry.first; });
  free_.emplace(at, size, std::move(s));
}

}  // namespace mq
