#pragma once
/// numpy matmul's batch dims, shared by the float and the integer MatMul executors.
#include <algorithm>
#include <cstdint>
#include <vector>

namespace mq::ops {

/// For A [..., m, k] and B [..., k, n] (ranks ≥ 2; batch dims right-aligned, size-1 dims
/// broadcast), calls fn(a_matrix, b_matrix, y_matrix) for each product: the index of the
/// [m×k] matrix of A, of the [k×n] matrix of B and of the [m×n] matrix of Y it uses.
template <class Fn>
void for_each_batch_product(const std::vector<int64_t>& ad, const std::vector<int64_t>& bd, Fn fn) {
  const size_t rank = std::max(ad.size(), bd.size()) - 2;
  std::vector<int64_t> ab(rank, 1), bb(rank, 1), ob(rank, 1);
  for (size_t i = 0; i < ad.size() - 2; ++i) ab[rank - (ad.size() - 2) + i] = ad[i];
  for (size_t i = 0; i < bd.size() - 2; ++i) bb[rank - (bd.size() - 2) + i] = bd[i];
  for (size_t i = 0; i < rank; ++i) ob[i] = std::max(ab[i], bb[i]);
  std::vector<int64_t> as(rank), bs(rank);  // batch strides in matrices (0 when broadcast)
  int64_t sa = 1, sb = 1;
  for (size_t i = rank; i-- > 0;) {
    as[i] = ab[i] == 1 ? 0 : sa;
    bs[i] = bb[i] == 1 ? 0 : sb;
    sa *= ab[i];
    sb *= bb[i];
  }
  int64_t total = 1;
  for (int64_t v : ob) total *= v;
  std::vector<int64_t> idx(rank, 0);
  for (int64_t t = 0; t < total; ++t) {
    int64_t oa = 0, obf = 0;
    for (size_t i = 0; i < rank; ++i) {
      oa += idx[i] * as[i];
      obf += idx[i] * bs[i];
    }
    fn(oa, obf, t);
    for (size_t i = rank; i-- > 0;) {
      if (++idx[i] < ob[i]) break;
      idx[i] = 0;
    }
  }
}

}  // namespace mq::ops
