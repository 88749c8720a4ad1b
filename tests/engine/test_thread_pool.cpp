// ThreadPool: every task runs exactly once per call, across many back-to-back calls (the
// spinning fast path), calls after the workers went to sleep, and pools of several sizes.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "engine/thread_pool.h"

TEST_CASE("thread pool: each task exactly once, back to back and after sleeping") {
  for (std::size_t threads : {1, 2, 3, 5}) {
    mq::ThreadPool pool(threads);
    CHECK(pool.size() == threads);
    std::vector<std::atomic<int>> hits(97);
    int expected = 0;
    for (int call = 0; call < 3000; ++call) {
      const std::size_t n = 1 + static_cast<std::size_t>(call * 7) % hits.size();
      pool.parallel_for(n, [&](std::size_t t) { hits[t].fetch_add(1); });
      // Task t ran once per call with n > t; check a running total of task 0 and the last.
      CHECK(hits[0].load() == ++expected);
      if (call % 1000 == 999) {  // let the workers block, then wake them
        std::this_thread::sleep_for(mq::ThreadPool::spin_time * 3);
      }
    }
    long total = 0;
    for (auto& h : hits) total += h.load();
    long want = 0;
    for (int call = 0; call < 3000; ++call) want += 1 + static_cast<long>(call * 7) % 97;
    CHECK(total == want);
  }
}

TEST_CASE("thread pool: the calling thread takes part and results are visible after return") {
  mq::ThreadPool pool(2);
  std::vector<int> out(64, 0);  // plain ints: parallel_for must publish the workers' writes
  for (int round = 1; round <= 200; ++round) {
    pool.parallel_for(out.size(), [&](std::size_t t) { out[t] = round * 1000 + int(t); });
    bool ok = true;
    for (std::size_t t = 0; t < out.size(); ++t) ok = ok && out[t] == round * 1000 + int(t);
    CHECK(ok);
  }
}
