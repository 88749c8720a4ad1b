// Every qgemm variant against the scalar reference, bit for bit, on all epilogues.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "engine/thread_pool.h"
#include "kernels/qgemm.h"
#include "kernels/reference/qgemm_ref.h"
#include "kernel_test_util.h"

using namespace mq::kernels;
using mq::kernels::test::Aligned;
using mq::kernels::test::fill_float;
using mq::kernels::test::fill_int;

namespace {

struct Problem {
  std::size_t m, n, k, lda, ldc;
  std::vector<std::uint8_t> a;
  std::vector<std::int8_t> w;
  std::vector<std::int32_t> bias32;
  std::vector<float> mult, w_scale, bias_f32;
  Aligned<std::uint8_t> packed;

  Problem(std::size_t m_, std::size_t n_, std::size_t k_, int a_lo = 0, int a_hi = 255, int w_lo = -128,
          int w_hi = 127)
      : m(m_),
        n(n_),
        k(k_),
        lda(k_ + 3),
        ldc(n_ + 5),
        a(m_ * (k_ + 3)),
        w(n_ * k_),
        bias32(n_),
        mult(n_),
        w_scale(n_),
        bias_f32(n_),
        packed(qgemm_packed_size(n_, k_)) {
    fill_int(a.data(), a.size(), a_lo, a_hi);
    fill_int(w.data(), w.size(), w_lo, w_hi);
    fill_int(bias32.data(), n, -5000, 5000);
    fill_float(mult.data(), n, 1e-5f, 4e-4f);
    fill_float(w_scale.data(), n, 1e-3f, 1e-2f);
    fill_float(bias_f32.data(), n, -1.0f, 1.0f);
    qgemm_pack_b(w.data(), k, n, k, packed.data());
  }

  QGemmParams params(QGemmOutput out, int a_zp, bool per_channel) const {
    QGemmParams p;
    p.m = m;
    p.n = n;
    p.k = k;
    p.a = a.data();
    p.lda = lda;
    p.a_zp = a_zp;
    p.packed_b = packed.data();
    p.output = out;
    p.ldc = ldc;
    p.per_channel = per_channel;
    p.bias32 = bias32.data();
    p.multiplier = mult.data();
    p.out_zp = out == QGemmOutput::s8 ? -3 : 117;
    p.qmin = out == QGemmOutput::s8 ? -128 : 0;
    p.qmax = out == QGemmOutput::s8 ? 127 : 255;
    p.a_scale = 0.02f;
    p.w_scale = w_scale.data();
    p.bias_f32 = bias_f32.data();
    return p;
  }
};

std::size_t elem_size(QGemmOutput o) { return o == QGemmOutput::u8 || o == QGemmOutput::s8 ? 1 : 4; }

// Runs variant v and the reference on the same problem; compares the bytes of C.
void check_variant(const QGemmVariant& v, const Problem& pr, QGemmOutput out, int a_zp, bool per_channel,
                   bool accumulate = false, std::size_t split = 0) {
  const std::size_t bytes = pr.m * pr.ldc * elem_size(out);
  std::vector<std::uint8_t> c_ref(bytes), c_got(bytes);
  fill_int(c_ref.data(), bytes, 0, 63);  // sentinel bytes / accumulate input (small floats)
  c_got = c_ref;
  QGemmParams p = pr.params(out, a_zp, per_channel);
  p.accumulate = accumulate;
  p.c = c_ref.data();
  reference::qgemm(p, pr.w.data(), pr.k, 0, pr.m, 0, pr.n);
  p.c = c_got.data();
  if (split == 0) {
    v.fn(p, 0, pr.m, 0, pr.n);
  } else {  // disjoint ranges: rows split at `split`, columns at a 16-multiple
    const std::size_t ms = std::min(pr.m, split), ns = std::min(pr.n, std::size_t{16} * ((pr.n / 2) / 16));
    v.fn(p, 0, ms, 0, ns);
    v.fn(p, 0, ms, ns, pr.n);
    v.fn(p, ms, pr.m, 0, ns);
    v.fn(p, ms, pr.m, ns, pr.n);
  }
  INFO(std::string(v.name) << " M=" << pr.m << " N=" << pr.n << " K=" << pr.k << " out=" << int(out)
                           << " a_zp=" << a_zp << " per_channel=" << per_channel << " acc=" << accumulate);
  const bool same = std::memcmp(c_ref.data(), c_got.data(), bytes) == 0;
  CHECK(same);
  if (!same && out == QGemmOutput::f32) {
    const auto* r = reinterpret_cast<const float*>(c_ref.data());
    const auto* g = reinterpret_cast<const float*>(c_got.data());
    for (std::size_t i = 0; i < pr.m * pr.ldc; ++i)
      if (std::memcmp(r + i, g + i, 4) != 0) {
        MESSAGE("first f32 mismatch at row " << i / pr.ldc << " col " << i % pr.ldc << ": " << r[i] << " vs "
                                             << g[i]);
        break;
      }
  }
}

std::vector<const QGemmVariant*> runnable_variants() { return test::runnable(qgemm_variants()); }

}  // namespace

TEST_CASE("qgemm: every variant matches the reference on tile edges") {
  const std::size_t ms[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 17};
  const std::size_t ns[] = {1, 15, 16, 17, 33, 47, 48, 49, 97};
  const std::size_t ks[] = {1, 3, 4, 5, 17, 64, 131};
  for (const QGemmVariant* v : runnable_variants()) {
    for (std::size_t m : ms)
      for (std::size_t n : ns)
        for (std::size_t k : ks) {
          Problem pr(m, n, k);
          const int a_zp = static_cast<int>((m * 31 + n * 7 + k) % 256);
          check_variant(*v, pr, QGemmOutput::s32, a_zp, false);
          check_variant(*v, pr, QGemmOutput::u8, a_zp, (m + n) % 2 == 0);
        }
  }
}

TEST_CASE("qgemm: every variant matches the reference on large-tile edges (AMX 16/32 rows, 64-byte k steps)") {
  const std::size_t ms[] = {4, 15, 16, 17, 31, 32, 33, 48, 65, 100};
  const std::size_t ns[] = {16, 31, 32, 33, 65};
  const std::size_t ks[] = {60, 64, 65, 129, 200};
  for (const QGemmVariant* v : runnable_variants()) {
    if (v->mr < 8) continue;  // the small-tile variants are covered above
    for (std::size_t m : ms)
      for (std::size_t n : ns)
        for (std::size_t k : ks) {
          Problem pr(m, n, k);
          const int a_zp = static_cast<int>((m * 17 + n * 5 + k) % 256);
          check_variant(*v, pr, QGemmOutput::s32, a_zp, false);
          check_variant(*v, pr, (m + k) % 2 ? QGemmOutput::u8 : QGemmOutput::f32, a_zp, true);
        }
  }
}

TEST_CASE("qgemm: all epilogues, per-tensor and per-channel, larger shapes") {
  struct Shape {
    std::size_t m, n, k;
  };
  const Shape shapes[] = {{64, 128, 256}, {33, 200, 768}, {100, 64, 1000}, {1, 1024, 256}, {2, 96, 2049}};
  for (const QGemmVariant* v : runnable_variants())
    for (const Shape& s : shapes) {
      Problem pr(s.m, s.n, s.k);
      for (bool pc : {false, true}) {
        check_variant(*v, pr, QGemmOutput::u8, 128, pc);
        check_variant(*v, pr, QGemmOutput::s8, 3, pc);
        check_variant(*v, pr, QGemmOutput::f32, 77, pc);
        check_variant(*v, pr, QGemmOutput::f32, 0, pc, /*accumulate=*/true);
        check_variant(*v, pr, QGemmOutput::s32, 255, pc, false, /*split=*/24);
      }
    }
}

TEST_CASE("qgemm: saturation extremes (a=255, w=-128/127) stay exact") {
  for (const QGemmVariant* v : runnable_variants()) {
    for (int case_id = 0; case_id < 3; ++case_id) {
      const int wv = case_id == 0 ? -128 : 127;  // case 0: all −128, 1: all 127, 2: mixed
      Problem pr(19, 50, 67, 255, 255, wv, wv);
      if (case_id == 2) {  // alternate extremes
        for (std::size_t i = 0; i < pr.w.size(); ++i) pr.w[i] = (i % 3) ? -128 : 127;
        qgemm_pack_b(pr.w.data(), pr.k, pr.n, pr.k, pr.packed.data());
      }
      check_variant(*v, pr, QGemmOutput::s32, 0, false);
      check_variant(*v, pr, QGemmOutput::s32, 255, false);
      check_variant(*v, pr, QGemmOutput::u8, 0, true);
      check_variant(*v, pr, QGemmOutput::s8, 200, false);
    }
    // Mixed: some blocks need the exact AVX2 path, others not.
    Problem pr(9, 64, 40, 200, 255, -60, 60);
    pr.w[16 * 40 + 3] = 127;
    pr.w[16 * 40 + 2] = 127;
    qgemm_pack_b(pr.w.data(), pr.k, pr.n, pr.k, pr.packed.data());
    check_variant(*v, pr, QGemmOutput::s32, 17, false);
  }
}

TEST_CASE("qgemm: requantization edges (narrow, out-of-type and crossed clamps, huge and NaN multipliers)") {
  // The AVX-512 kernels narrow whole rows of u8 / s8 output at once and take the lower clamp
  // on the narrowed bytes; every clamp, zero point and multiplier must still give store_one's
  // bytes.
  struct Clamp {
    QGemmOutput out;
    std::int32_t zp, qmin, qmax;
  };
  const Clamp clamps[] = {
      {QGemmOutput::u8, 117, 117, 255},  // ReLU
      {QGemmOutput::u8, 0, 0, 6},        // a narrow Clip
      {QGemmOutput::u8, 255, 20, 255},   //
      {QGemmOutput::u8, 30, -7, 300},    // bounds outside u8 (the byte stores wrap)
      {QGemmOutput::s8, -128, -128, 127}, {QGemmOutput::s8, -3, -3, 127},   // ReLU
      {QGemmOutput::s8, 127, -60, 0},     {QGemmOutput::s8, 5, -200, 140},  // bounds outside s8
      {QGemmOutput::u8, 10, 200, 50},     {QGemmOutput::s8, 0, 90, -90},    // crossed (a hostile Clip): qmax
  };
  const float inf = std::numeric_limits<float>::infinity();
  const float special[] = {3e5f, -3e5f, 1e30f, -1e30f, inf, -inf, std::numeric_limits<float>::quiet_NaN(), 0.0f};
  for (const QGemmVariant* v : runnable_variants())
    for (std::size_t n : {16, 33, 64, 80})
      for (const Clamp& cl : clamps)
        for (bool odd : {false, true}) {  // multipliers below 1 (the usual), or some huge / NaN
          Problem pr(11, n, 23);
          if (odd) {
            for (std::size_t j = 0; j < n; j += 3) pr.mult[j] = special[(j / 3) % std::size(special)];
            for (std::size_t j = 1; j < n; j += 3) pr.mult[j] *= 40.0f;  // values beyond the clamp either way
          }
          QGemmParams p = pr.params(cl.out, 77, true);
          p.out_zp = cl.zp;
          p.qmin = cl.qmin;
          p.qmax = cl.qmax;
          std::vector<std::uint8_t> c_ref(pr.m * pr.ldc, 0x5a), c_got = c_ref;
          p.c = c_ref.data();
          reference::qgemm(p, pr.w.data(), pr.k, 0, pr.m, 0, pr.n);
          p.c = c_got.data();
          v->fn(p, 0, pr.m, 0, pr.n);
          INFO(std::string(v->name) << " N=" << n << " out=" << int(cl.out) << " zp=" << cl.zp << " q [" << cl.qmin
                                    << "," << cl.qmax << "] odd multipliers " << odd);
          CHECK(c_ref == c_got);
        }
}

TEST_CASE("qgemm: the active variant is the active tier's") {
  CHECK(qgemm_active().isa == qgemm_select(active_isa()).isa);
}

TEST_CASE("qgemm: parallel split matches the single-thread result") {
  mq::ThreadPool pool(2);
  struct Shape {
    std::size_t m, n, k;
  };
  for (Shape s : {Shape{256, 256, 256}, Shape{1, 1024, 512}, Shape{4, 600, 300}}) {
    Problem pr(s.m, s.n, s.k);
    const QGemmSplit plan = qgemm_plan(s.m, s.n, s.k, 2);
    CHECK(plan.tasks == 2);
    std::vector<std::int32_t> c1(s.m * pr.ldc), c2(s.m * pr.ldc);
    QGemmParams p = pr.params(QGemmOutput::s32, 9, true);
    p.c = c1.data();
    qgemm(p);
    p.c = c2.data();
    qgemm_parallel(pool, p);
    CHECK(c1 == c2);
  }
  CHECK(qgemm_plan(4, 64, 64, 2).tasks == 1);  // too little work to split
}
