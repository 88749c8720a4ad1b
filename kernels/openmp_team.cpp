#include "kernels/openmp_team.h"

#include <chrono>

// libgomp's entry point for `#pragma omp parallel` (what GCC emits for it): declared here so
// that no compiler needs OpenMP support of its own.
extern "C" void GOMP_parallel(void (*fn)(void*), void* data, unsigned num_threads, unsigned flags);

namespace mq::kernels {

namespace {

using Clock = std::chrono::steady_clock;

/// How long after a region its workers are taken to be awake: well inside libgomp's default
/// spin (300000 pauses, ~15 ms on a 2.8 GHz Xeon) before they block on a futex.
constexpr Clock::duration kTeamAwake = std::chrono::milliseconds(5);

/// How long after a call that found the workers late the team is not used: on a machine
/// whose other cores are busy, a worker the scheduler has not run holds every region's end.
constexpr Clock::duration kTeamBackoff = std::chrono::milliseconds(100);

thread_local Clock::time_point last_region{}, late_until{};

}  // namespace

void team_parallel(unsigned threads, void (*body)(void*), void* arg) {
  GOMP_parallel(body, arg, threads, 0);
  if (threads > 1) last_region = Clock::now();
}

void note_team_region(int threads) {
  if (threads > 1) last_region = Clock::now();
}

bool team_awake() {
  if (last_region == Clock::time_point{}) return false;
  const Clock::time_point now = Clock::now();
  return now - last_region < kTeamAwake && now >= late_until;
}

void note_team_late() { late_until = Clock::now() + kTeamBackoff; }

}  // namespace mq::kernels
