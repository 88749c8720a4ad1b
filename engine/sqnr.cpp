#include "engine/sqnr.h"

#include <cmath>
#include <limits>
#include <vector>

#include "ir/error.h"

namespace mq {

namespace {
template <class T>
void accumulate(SqnrAccumulator& a, const T* ref, const T* test, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const bool fr = std::isfinite(ref[i]), ft = std::isfinite(test[i]);
    a.bad_ref += !fr;
    a.bad_test += !ft;
    if (!fr || !ft) continue;
    const double x = double(ref[i]), d = x - double(test[i]);
    a.signal += x * x;
    a.noise += d * d;
    a.max_abs = std::max(a.max_abs, std::fabs(d));
  }
  a.count += n;
}

template <class T>
void accumulate(SqnrAccumulator& a, std::span<const T> ref, std::span<const T> test) {
  if (ref.size() != test.size())
    fail<InvalidArgument>("sqnr: reference has ", ref.size(), " values, test has ", test.size());
  accumulate(a, ref.data(), test.data(), int64_t(ref.size()));
}
}  // namespace

void SqnrAccumulator::add(const float* ref, const float* test, int64_t n) { accumulate(*this, ref, test, n); }
void SqnrAccumulator::add(const double* ref, const double* test, int64_t n) { accumulate(*this, ref, test, n); }

void SqnrAccumulator::add(std::span<const float> ref, std::span<const float> test) {
  accumulate(*this, ref, test);
}
void SqnrAccumulator::add(std::span<const double> ref, std::span<const double> test) {
  accumulate(*this, ref, test);
}

double SqnrAccumulator::db() const {
  if (bad_ref || bad_test) return -std::numeric_limits<double>::infinity();
  if (noise == 0) return std::numeric_limits<double>::infinity();
  if (signal == 0) return -std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(signal / noise);
}

double sqnr_db(std::span<const float> ref, std::span<const float> test) {
  if (ref.empty() && test.empty()) fail<InvalidArgument>("sqnr: empty input");
  SqnrAccumulator a;
  a.add(ref, test);
  return a.db();
}

double sqnr_db(const Tensor& ref, const Tensor& test) {
  if (ref.dims() != test.dims()) fail<InvalidArgument>("sqnr: tensors have different shapes");
  const std::vector<float> a = ref.to_float(), b = test.to_float();
  return sqnr_db(std::span<const float>(a), std::span<const float>(b));
}

}  // namespace mq
