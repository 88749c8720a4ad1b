#pragma once
/// Reuses tensor storages across the nodes of a run and across runs.
#include <map>
#include <memory>
#include <vector>

#include "ir/tensor.h"

namespace mq {

/// A free list of storages keyed by size. A released tensor's storage is reused only when
/// nothing else holds it (outputs that alias an input, or that the caller kept, are skipped).
class BufferPool {
 public:
  /// A tensor of the given type; its bytes are NOT zeroed when the storage is reused.
  Tensor acquire(DType dtype, const std::vector<int64_t>& dims);
  /// Gives the tensor's storage back (if no one else holds it).
  void release(Tensor t);
  /// Gives a storage back (if no one else holds it).
  void release(std::shared_ptr<Storage> s);

 private:
  std::multimap<size_t, std::shared_ptr<Storage>> free_;
  size_t free_bytes_ = 0;
};

}  // namespace mq
