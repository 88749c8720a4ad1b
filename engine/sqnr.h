#pragma once
/// Signal-to-quantization-noise ratio: the one measure of how close a quantized result is to
/// its float reference, used by validation, the weight report and `monoquant compare`.
///   SQNR = 10·log10(Σ ref² / Σ (ref − test)²) dB
/// Rules: no noise at all (test equals ref, both all zero included) is +inf; noise over an
/// all-zero reference is −inf; a NaN or infinity on either side is −inf (no SQNR can vouch
/// for it; `bad_ref` / `bad_test` count them and they are left out of the sums).
#include <cstdint>
#include <span>

#include "ir/tensor.h"

namespace mq {

/// Accumulates the SQNR of many (reference, test) pairs, streamed in any number of pieces.
struct SqnrAccumulator {
  double signal = 0, noise = 0;       ///< Σ ref², Σ (ref − test)² over the finite pairs
  double max_abs = 0;                 ///< largest |ref − test| over the finite pairs
  int64_t count = 0;                  ///< pairs added
  int64_t bad_ref = 0, bad_test = 0;  ///< NaN or infinite values on each side

  /// Adds n pairs (float or double).
  void add(const float* ref, const float* test, int64_t n);
  void add(const double* ref, const double* test, int64_t n);
  /// Adds two equally long spans; InvalidArgument when the lengths differ.
  void add(std::span<const float> ref, std::span<const float> test);
  void add(std::span<const double> ref, std::span<const double> test);
  /// The SQNR in dB by the rules above (+inf before anything was added).
  double db() const;
};

/// SQNR of two equally long non-empty spans (InvalidArgument otherwise).
double sqnr_db(std::span<const float> ref, std::span<const float> test);
/// SQNR of two tensors of the same shape (any numeric dtype, compared as floats).
double sqnr_db(const Tensor& ref, const Tensor& test);

}  // namespace mq
