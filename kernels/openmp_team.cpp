#include "kernels/openmp_team.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <strings.h>

// libgomp's entry point for `#pragma omp parallel` (what GCC emits for it): declared here so
// that no compiler needs OpenMP support of its own.
extern "C" void GOMP_parallel(void (*fn)(void*), void* data, unsigned num_threads, unsigned flags);
extern "C" int omp_in_parallel(void);

namespace mq::kernels {

namespace {

using Clock = std::chrono::steady_clock;

/// How long after a call that found the workers late the team is not used: on a machine
/// whose other cores are busy, a worker the scheduler has not run holds every region's end.
constexpr Clock::duration kTeamBackoff = std::chrono::milliseconds(500);

/// How long libgomp's idle workers spin before they block on a futex, from its settings
/// (OMP_WAIT_POLICY, GOMP_SPINCOUNT; by default 300000 pauses) and the time of a pause on
/// this CPU (~13 ns here, ~4 ms in all; a few ns on older cores), measured once. Three
/// quarters of it, at most 20 ms, is how long after a region its workers count as awake.
Clock::duration team_awake_time() {
  double pauses = 300000;
  if (const char* policy = std::getenv("OMP_WAIT_POLICY")) {
    if (strcasecmp(policy, "passive") == 0) pauses = 0;
    if (strcasecmp(policy, "active") == 0) pauses = 3e10;
  }
  if (const char* count = std::getenv("GOMP_SPINCOUNT")) {
    if (strncasecmp(count, "infinit", 7) == 0) pauses = 3e10;
    else pauses = std::strtod(count, nullptr);
  }
  if (!(pauses > 0)) return Clock::duration::zero();
  constexpr int kSample = 2000;
  const Clock::time_point t0 = Clock::now();
  for (int i = 0; i < kSample; ++i) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
  const double pause_s = std::chrono::duration<double>(Clock::now() - t0).count() / kSample;
  const double awake_s = std::min(0.75 * pauses * pause_s, 0.020);
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(awake_s));
}

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
  static const Clock::duration awake = team_awake_time();
  // inside a caller's own OpenMP region a nested region would run on one thread
  if (last_region == Clock::time_point{} || omp_in_parallel()) return false;
  const Clock::time_point now = Clock::now();
  return now - last_region < awake && now >= late_until;
}

void note_team_late() { late_until = Clock::now() + kTeamBackoff; }

}  // namespace mq::kernels
