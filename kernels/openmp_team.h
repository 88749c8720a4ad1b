#pragma once
/// The OpenMP team that Debian's oneDNN runs its parallel kernels on (libgomp). After a
/// parallel region its worker threads spin for a while (GOMP_SPINCOUNT pauses, ~4 ms here)
/// before they sleep; a second pool of threads woken during that time competes with them for the
/// same cores. These functions let other parallel work run on the team while it is awake.
#include <cstddef>

namespace mq::kernels {

/// Runs body(arg) on `threads` threads of the calling thread's OpenMP team (the calling
/// thread is one of them, the others are the team's workers) and returns when every one has
/// returned. A call from inside a team's region runs on the calling thread alone.
void team_parallel(unsigned threads, void (*body)(void*), void* arg);

/// Records that the calling thread has just run a region of `threads` OpenMP threads (its
/// team's workers are awake and spinning when threads > 1).
void note_team_region(int threads);

/// True when the calling thread ran a region of more than one thread recently enough that its
/// team's workers are still spinning for the next one (within three quarters of libgomp's
/// spin time), and no call of the last kTeamBackoff (500 ms) found them late; false inside an
/// OpenMP parallel region (a nested one would run on one thread).
bool team_awake();

/// Records that the team's workers took no part in a team_parallel call of the calling thread
/// (they were descheduled or asleep: the caller ran every task and then waited for them at
/// the region's end): team_awake() is false for the next kTeamBackoff.
void note_team_late();

}  // namespace mq::kernels
