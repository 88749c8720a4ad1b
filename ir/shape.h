#pragma once
/// Tensor shapes whose dims may be symbolic (batch, sequence length) or unknown.
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace mq {

/// One dimension: a known size, or a symbol (a named or anonymous unknown size).
struct Dim {
  int64_t value = -1;  ///< the size when known (>= 0), else -1
  std::string symbol;  ///< a name for an unknown size ("batch"); empty if anonymous

  Dim() = default;
  Dim(int64_t v) : value(v) {}  // NOLINT: sizes convert implicitly
  /// A symbolic dim named `name`.
  static Dim sym(std::string name) {
    Dim d;
    d.symbol = std::move(name);
    return d;
  }
  bool is_static() const { return value >= 0; }
  bool operator==(const Dim& o) const {
    return is_static() ? value == o.value : (!o.is_static() && symbol == o.symbol && !symbol.empty());
  }
  std::string str() const;
};

/// A list of dims, or an unknown rank.
class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(const std::vector<int64_t>& dims);
  explicit Shape(std::vector<Dim> dims) : dims_(std::move(dims)) {}
  /// A shape whose rank is unknown.
  static Shape unknown_rank();

  bool has_rank() const { return has_rank_; }
  size_t rank() const { return dims_.size(); }
  const std::vector<Dim>& dims() const { return dims_; }
  std::vector<Dim>& dims() { return dims_; }
  const Dim& operator[](size_t i) const { return dims_[i]; }
  Dim& operator[](size_t i) { return dims_[i]; }
  /// True when the rank and every dim are known.
  bool is_static() const;
  /// Product of dims; requires is_static().
  int64_t numel() const;
  /// The static dims; requires is_static().
  std::vector<int64_t> values() const;
  /// "[1,3,?,batch]" style text.
  std::string str() const;
  bool operator==(const Shape& o) const { return has_rank_ == o.has_rank_ && dims_ == o.dims_; }

 private:
  std::vector<Dim> dims_;
  bool has_rank_ = true;
};

/// Numpy-style broadcast of two shapes; throws ShapeError naming both when they clash.
Shape broadcast_shapes(const Shape& a, const Shape& b);
/// Normalizes a possibly negative axis into [0, rank); throws ShapeError if out of range.
int64_t normalize_axis(int64_t axis, int64_t rank);
/// Row-major strides of static dims.
std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& dims);

}  // namespace mq
