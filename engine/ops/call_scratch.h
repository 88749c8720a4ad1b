#pragma once
/// Scratch memory of the thread that runs an executor: concurrent Session::run calls on one
/// Session each use their own thread's buffers, so executors keep no mutable per-run state
/// and need no lock. Tasks an executor hands to the thread pool use the pointers their
/// caller got.
#include <cstddef>

namespace mq::ops {

/// How many buffers each thread has (an executor uses slots 0 .. kScratchSlots - 1 at once).
inline constexpr std::size_t kScratchSlots = 3;

/// Buffer `slot` of the calling thread, at least `bytes` long, 64-byte aligned; it grows as
/// needed and is kept between calls (its contents are not).
std::byte* call_scratch(std::size_t slot, std::size_t bytes);

}  // namespace mq::ops
