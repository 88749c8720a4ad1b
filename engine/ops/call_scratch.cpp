#include "engine/ops/call_scratch.h"

#include <array>
#include <memory>

#include "ir/error.h"
#include "ir/tensor.h"

namespace mq::ops {

std::byte* call_scratch(std::size_t slot, std::size_t bytes) {
  thread_local std::array<std::shared_ptr<Storage>, kScratchSlots> buffers;
  if (slot >= kScratchSlots) fail<Error>("scratch slot ", slot, " of ", kScratchSlots);
  std::shared_ptr<Storage>& b = buffers[slot];
  if (!b || b->size() < bytes) b = Storage::allocate(bytes ? bytes : 1);
  return b->data();
}

}  // namespace mq::ops
