#include "ir/shape.h"

#include <sstream>

#include "ir/error.h"

namespace mq {

std::string Dim::str() const {
  if (is_static()) return std::to_string(value);
  return symbol.empty() ? "?" : symbol;
}

Shape::Shape(std::initializer_list<int64_t> dims) {
  for (auto d : dims) dims_.emplace_back(d);
}

Shape::Shape(const std::vector<int64_t>& dims) {
  for (auto d : dims) dims_.emplace_back(d);
}

Shape Shape::unknown_rank() {
  Shape s;
  s.has_rank_ = false;
  return s;
}

bool Shape::is_static() const {
  if (!has_rank_) return false;
  for (auto& d : dims_)
    if (!d.is_static()) return false;
  return true;
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (auto& d : dims_) n *= d.value;
  return n;
}

std::vector<int64_t> Shape::values() const {
  std::vector<int64_t> v;
  v.reserve(dims_.size());
  for (auto& d : dims_) v.push_back(d.value);
  return v;
}

std::string Shape::str() const {
  if (!has_rank_) return "[*]";
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < dims_.size(); ++i) os << (i ? "," : "") << dims_[i].str();
  os << ']';
  return os.str();
}

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  if (!a.has_rank() || !b.has_rank()) return Shape::unknown_rank();
  size_t r = std::max(a.rank(), b.rank());
  std::vector<Dim> out(r);
  for (size_t i = 0; i < r; ++i) {
    const Dim one(1);
    const Dim& da = i < r - a.rank() ? one : a[i - (r - a.rank())];
    const Dim& db = i < r - b.rank() ? one : b[i - (r - b.rank())];
    if (da.is_static() && da.value == 1) {
      out[i] = db;
    } else if (db.is_static() && db.value == 1) {
      out[i] = da;
    } else if (da.is_static() && db.is_static()) {
      if (da.value != db.value) fail<ShapeError>("shapes ", a.str(), " and ", b.str(), " do not broadcast");
      out[i] = da;
    } else {
      out[i] = da.is_static() ? da : db;
    }
  }
  return Shape(std::move(out));
}

int64_t normalize_axis(int64_t axis, int64_t rank) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) fail<ShapeError>("axis ", axis, " is out of range for rank ", rank);
  return a;
}

std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& dims) {
  std::vector<int64_t> s(dims.size(), 1);
  for (int64_t i = int64_t(dims.size()) - 2; i >= 0; --i) s[i] = s[i + 1] * dims[i + 1];
  return s;
}

}  // namespace mq
