// ThreadPool: every task runs exactly once per call, across many back-to-back calls (the
// spinning fast path), calls after the workers went to sleep, pools of several sizes, and
// calls run on oneDNN's OpenMP team while it is awake.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "engine/thread_pool.h"
#include "kernels/openmp_team.h"

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

TEST_CASE("thread pool: a nested call and calls from two threads at once run every task exactly once") {
  mq::ThreadPool pool(2);
  // nested: the inner calls run on the thread of their outer task
  std::vector<std::atomic<int>> inner(8 * 16);
  pool.parallel_for(
      8, [&](std::size_t o) { pool.parallel_for(16, [&](std::size_t i) { inner[o * 16 + i].fetch_add(1); }); });
  for (auto& h : inner) CHECK(h.load() == 1);
  // two callers at once: one holds the pool, the other's calls run on its own thread
  constexpr int calls = 500, tasks = 4;
  std::vector<std::atomic<int>> hits(2 * calls * tasks);
  std::vector<std::thread> callers;
  for (int c = 0; c < 2; ++c)
    callers.emplace_back([&, c] {
      for (int call = 0; call < calls; ++call)
        pool.parallel_for(tasks, [&](std::size_t t) { hits[std::size_t((c * calls + call) * tasks) + t]++; });
    });
  for (auto& t : callers) t.join();
  int wrong = 0;
  for (auto& h : hits) wrong += h.load() != 1;
  CHECK(wrong == 0);
}

TEST_CASE("thread pool: right after an OpenMP region of two threads the tasks run on that team, each once") {
  // kernels::note_team_region marks the calling thread's libgomp team as spinning, as a
  // oneDNN kernel on two threads leaves it: parallel_for then runs on the team (its worker
  // and the caller), nested calls inline, and the pool's own workers after the team sleeps or
  // was found late
  mq::ThreadPool pool(2);
  std::vector<std::atomic<int>> hits(61);
  std::vector<int> plain(61, 0);  // plain ints: the team's writes must be visible after return
  for (int call = 1; call <= 500; ++call) {
    mq::kernels::note_team_region(2);
    const std::size_t n = 2 + static_cast<std::size_t>(call * 5) % (hits.size() - 1);
    pool.parallel_for(n, [&](std::size_t t) {
      hits[t].fetch_add(1);
      plain[t] = call;
    });
    bool ok = true;
    for (std::size_t t = 0; t < n; ++t) ok = ok && plain[t] == call;
    CHECK(ok);
  }
  long total = 0, want = 0;
  for (auto& h : hits) total += h.load();
  for (int call = 1; call <= 500; ++call) want += 2 + (call * 5) % 60;
  CHECK(total == want);
  std::vector<std::atomic<int>> inner(6 * 10);
  mq::kernels::note_team_region(2);
  pool.parallel_for(
      6, [&](std::size_t o) { pool.parallel_for(10, [&](std::size_t i) { inner[o * 10 + i].fetch_add(1); }); });
  for (auto& h : inner) CHECK(h.load() == 1);
  // a one-thread region leaves no workers spinning; nor does one long past
  std::thread([] {
    CHECK_FALSE(mq::kernels::team_awake());
    mq::kernels::note_team_region(1);
    CHECK_FALSE(mq::kernels::team_awake());
  }).join();
  mq::kernels::note_team_region(2);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK_FALSE(mq::kernels::team_awake());
  // inside an OpenMP region (a caller's own): never the team, whose nested region has one thread
  std::atomic<int> awake_inside{0};
  mq::kernels::team_parallel(
      2,
      [](void* p) {
        mq::kernels::note_team_region(2);
        if (mq::kernels::team_awake()) static_cast<std::atomic<int>*>(p)->fetch_add(1);
      },
      &awake_inside);
  CHECK(awake_inside.load() == 0);
  // a call that found the workers late: not the team for a while (longer than it stays awake)
  std::thread([] {
    mq::kernels::note_team_region(2);
    mq::kernels::note_team_late();
    CHECK_FALSE(mq::kernels::team_awake());
  }).join();
}
