#pragma once
/// The `auto` observer's choice: per calibrated value, the candidate range (minmax,
/// percentile 99.9 / 99.99 / 99.999, mse, entropy, all computed from one histogram) that
/// minimises the error of what reads the value, measured on calibration samples.
///
/// During calibration each watched value keeps a bounded subsample of what it carried (at
/// most `budget` floats per value, whatever the number of samples; each batch may fill half of
/// what is left, and the part of a batch holding its largest |x| is always kept):
///   - read by Conv2d layers: spatial windows [C, h, w] of the samples (a window at least as
///     large as the layers' kernels; a convolution of a window is a convolution too);
///   - read by Linear layers: whole rows [K] of the samples;
///   - read by an LSTM: the first steps of one sequence of each sample;
///   - read by no layer (or by layers of different kinds): nothing; the value keeps MinMax.
/// At the end, for each candidate range the subsample is fake-quantized (u8 asymmetric, the
/// activation default), every reading layer is run on it in float with its own weights
/// (run_node), and the outputs are compared with the layers' outputs on the unquantized
/// subsample; the candidate with the smallest sum over layers of noise / signal (SqnrAccumulator)
/// wins, but MinMax is kept unless a candidate halves its error (a layer's gain from clipping
/// often does not reach the model's output; see choose()). A value read by no layer (a layer's output that only
/// float ops read) keeps MinMax: scoring it on its own quantization error picked clipped ranges that float
/// consumers taking maxima or logits cannot afford (magika: 30.0 → 10.2 dB).
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/observers/observer.h"
#include "engine/quantize/options.h"
#include "ir/graph.h"

namespace mq {

/// Records subsamples of the watched values and picks each value's range.
class AutoRangeSelector {
 public:
  /// `watched` are the value names calibration observes in `g` (or its subgraphs);
  /// `budget` bounds the floats kept per value; `total_budget` bounds them over all values.
  /// Only layers `layers` selects count as readers.
  AutoRangeSelector(const Graph& g, const std::vector<std::string>& watched, const LayerSelection& layers,
                    int64_t budget = int64_t(1) << 16, int64_t total_budget = int64_t(1) << 25);
  /// Keeps part of one batch of value `name` (f32). Safe to call concurrently for different
  /// values.
  void record(const std::string& name, const Tensor& t);
  /// Replaces each observer (built with kind auto) by the candidate observer whose range
  /// gives the least error; values without a subsample get MinMax. Values are
  /// scored on `threads` threads (0 = all cores), each layer run on one.
  void select(std::map<std::string, std::unique_ptr<Observer>>& observers, int threads = 0) const;
  /// Floats currently kept over all values.
  int64_t kept() const;

 private:
  enum class Rule { none, conv, linear, lstm };
  struct Entry {
    Rule rule = Rule::none;
    std::vector<const Node*> readers;  ///< the layers run on the subsample
    int64_t window = 0;                ///< conv: smallest window side
    std::vector<int64_t> unit;         ///< dims of one kept unit (fixed by the first batch)
    std::vector<float> data;           ///< kept units, back to back
    std::mt19937 rng;
  };
  void keep_conv(Entry& e, const Tensor& t, int64_t room) const;
  void keep_rows(Entry& e, const Tensor& t, int64_t room) const;
  void keep_lstm(Entry& e, const Tensor& t, int64_t room) const;
  /// Scores the candidates of one value and replaces `observer` by the best.
  void choose(const std::string& name, const Entry& e, std::unique_ptr<Observer>& observer) const;
  /// Σ over readers of noise / signal of the readers' outputs with `x` quantized by `obs`.
  double error(const Entry& e, const Tensor& x, const std::vector<std::vector<Tensor>>& ref,
               const Observer& obs) const;

  std::map<std::string, Entry> entries_;
  int64_t budget_;
};

/// The candidate observers `auto` chooses among, built from an auto observer's histogram
/// (`stats` of a HistogramObserver of kind auto, whose bins and quantized bins they keep),
/// MinMax first.
std::vector<std::unique_ptr<Observer>> auto_candidates(const ObserverStats& stats);

}  // namespace mq
