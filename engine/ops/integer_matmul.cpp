// Executors of ONNX's MatMulInteger and QLinearMatMul: every operand type pair runs on the
// u8 × s8 qgemm (engine/ops/integer_operands.h), per-row A zero points on the scalar kernel.
#include <algorithm>
#include <mutex>

#include "engine/ops/batch_products.h"
#include "engine/ops/integer_operands.h"
#include "engine/thread_pool.h"
#include "kernels/qgemm.h"

namespace mq::ops {

namespace {

/// numpy matmul over u8/s8 operands: calls fn(a_offset, b_offset, y_offset, m, n, k) per
/// 2-D product (offsets in elements; A row-major [m×k], B [k×n], Y [m×n]).
template <class Fn>
void for_each_matmul(const Tensor& a, const Tensor& b, Fn fn) {
  std::vector<int64_t> ad = a.dims(), bd = b.dims();
  if (ad.size() == 1) ad.insert(ad.begin(), 1);
  if (bd.size() == 1) bd.push_back(1);
  const int64_t m = ad[ad.size() - 2], k = ad.back(), n = bd.back();
  for_each_batch_product(
      ad, bd, [&](int64_t ai, int64_t bi, int64_t yi) { fn(ai * m * k, bi * k * n, yi * m * n, m, n, k); });
}

/// Packed B of MatMulInteger / QLinearMatMul when B is a constant.
struct IntMatMulState {
  std::mutex mutex;  // the lazily packed B is made and read by one run at a time
  std::shared_ptr<Storage> packed;
};

std::shared_ptr<void> prepare_int_matmul(const Node&) { return std::make_shared<IntMatMulState>(); }

/// y[i][j] += d[j] · Σ_k (a[i][k] − a_zp) (wrapping): the weight-offset term.
void add_row_sums(const uint8_t* a, int32_t a_zp, int64_t m, int64_t k, const std::vector<int32_t>& d, int32_t* y,
                  int64_t n) {
  for (int64_t i = 0; i < m; ++i) {
    uint32_t s = uint32_t(-int64_t(k) * a_zp);
    const uint8_t* row = a + i * k;
    for (int64_t kk = 0; kk < k; ++kk) s += row[kk];
    uint32_t* yr = reinterpret_cast<uint32_t*>(y + i * n);
    for (int64_t j = 0; j < n; ++j) yr[j] += uint32_t(d[size_t(j)]) * s;
  }
}

/// Integer product of one 2-D slice: the u8 × s8 qgemm (any operand types, see
/// integer_operands.h) when A has one zero point, else the scalar kernel.
void int_matmul_2d(const Tensor& a, Int8Type at, int64_t ao, const std::vector<int32_t>& azp, const Tensor& b,
                   Int8Type bt, int64_t bo, const std::vector<int32_t>& bzp, int32_t* y, int64_t m, int64_t n,
                   int64_t k, std::shared_ptr<Storage>* cache, ThreadPool* pool) {
  if (k == 0) {
    std::fill(y, y + m * n, 0);
    return;
  }
  if (azp.size() <= 1 && (m > 1 || cache)) {
    // qgemm wants B as [N×K] s8: transpose and pack (once when B is a constant).
    std::shared_ptr<Storage> local;
    std::shared_ptr<Storage>& packed = cache ? *cache : local;
    if (!packed) {
      std::vector<int8_t> wt(size_t(n * k));
      const uint8_t* bp = static_cast<const uint8_t*>(b.raw()) + bo;
      for (int64_t kk = 0; kk < k; ++kk)
        for (int64_t j = 0; j < n; ++j) wt[size_t(j * k + kk)] = weight_s8(bt, bp[kk * n + j]);
      packed = Storage::allocate(std::max<size_t>(64, kernels::qgemm_packed_size(size_t(n), size_t(k))));
      kernels::qgemm_pack_b(wt.data(), size_t(k), size_t(n), size_t(k), packed->data());
    }
    const uint8_t* ap = static_cast<const uint8_t*>(a.raw()) + ao;
    std::vector<uint8_t> shifted;
    if (at == Int8Type::s8) {
      shifted.resize(size_t(m * k));
      for (size_t i = 0; i < shifted.size(); ++i) shifted[i] = activation_u8(at, ap[i]);
      ap = shifted.data();
    }
    kernels::QGemmParams p;
    p.m = size_t(m);
    p.n = size_t(n);
    p.k = size_t(k);
    p.a = ap;
    p.lda = size_t(k);
    p.a_zp = activation_zp_u8(at, azp.empty() ? 0 : azp[0]);
    p.packed_b = packed->data();
    p.output = kernels::QGemmOutput::s32;
    p.c = y;
    p.ldc = size_t(n);
    if (pool) kernels::qgemm_parallel(*pool, p);
    else kernels::qgemm(p);
    const auto d = weight_offsets(bt, bzp.empty() ? nullptr : bzp.data(), bzp.size() > 1 ? 1 : 0, size_t(n));
    if (!d.empty()) add_row_sums(ap, p.a_zp, m, k, d, y, n);
    return;
  }
  const bool b_zero = std::all_of(bzp.begin(), bzp.end(), [](int32_t v) { return v == 0; });
  kernels::IntMatMulParams p;
  p.m = size_t(m);
  p.n = size_t(n);
  p.k = size_t(k);
  p.a = static_cast<const uint8_t*>(a.raw()) + ao;
  p.a_type = at;
  p.lda = size_t(k);
  p.b = static_cast<const uint8_t*>(b.raw()) + bo;
  p.b_type = bt;
  p.ldb = size_t(n);
  p.a_zp = azp.empty() ? nullptr : azp.data();
  p.a_zp_stride = azp.size() > 1 ? 1 : 0;
  p.b_zp = b_zero ? nullptr : bzp.data();
  p.b_zp_stride = bzp.size() > 1 ? 1 : 0;
  p.y = y;
  p.ldy = size_t(n);
  kernels::matmul_integer(p);
}

/// Integer matmul of operands (ai, bi) with zero points (azi, bzi) into `y` (int32, the
/// output's element count). Returns rows m and columns n of each product.
std::pair<int64_t, int64_t> run_int_matmul(const ExecContext& c, size_t ai, size_t azi, size_t bi, size_t bzi,
                                           int32_t* y) {
  const Tensor& a = c.in(ai);
  const Tensor& b = c.in(bi);
  const Int8Type at = int8_type(c, a), bt = int8_type(c, b);
  const auto azp = zero_points(c, azi), bzp = zero_points(c, bzi);
  const int64_t m = a.rank() == 1 ? 1 : a.dim(a.rank() - 2);
  const int64_t n = b.rank() == 1 ? 1 : b.dim(b.rank() - 1);
  if (!azp.empty()) param_stride(c, azp.size(), m, "A's zero point");
  if (!bzp.empty()) param_stride(c, bzp.size(), n, "B's zero point");
  // A constant 2-D B is packed once per Session.
  std::shared_ptr<Storage>* cache = nullptr;
  const Value* bv = c.node.input(bi);
  std::unique_lock<std::mutex> lock;
  if (c.state && bv && bv->is_constant() && b.rank() == 2) {
    lock = std::unique_lock<std::mutex>(static_cast<IntMatMulState*>(c.state)->mutex);
    cache = &static_cast<IntMatMulState*>(c.state)->packed;
  }
  if (b.rank() == 2 && a.rank() >= 2 && azp.size() <= 1) {  // one product over every row of A
    const int64_t k = b.dim(0);
    int64_t rows = 1;
    for (size_t i = 0; i + 1 < a.rank(); ++i) rows *= a.dim(i);
    if (rows && n) int_matmul_2d(a, at, 0, azp, b, bt, 0, bzp, y, rows, n, k, cache, c.pool);
    return {m, n};
  }
  for_each_matmul(a, b, [&](int64_t ao, int64_t bo, int64_t yo, int64_t mm, int64_t nn, int64_t kk) {
    int_matmul_2d(a, at, ao, azp, b, bt, bo, bzp, y + yo, mm, nn, kk, cache, c.pool);
  });
  return {m, n};
}

void matmul_integer(ExecContext& c) { run_int_matmul(c, 0, 2, 1, 3, c.out(0).data<int32_t>()); }

void qlinear_matmul(ExecContext& c) {
  Tensor& y = c.out(0);
  std::vector<int32_t> acc(size_t(y.numel()));
  auto [m, n] = run_int_matmul(c, 0, 2, 3, 5, acc.data());
  if (y.numel() == 0) return;
  const auto as = scales(c, 1), bs = scales(c, 4), ys = scales(c, 6);
  const auto yzp = zero_points(c, 7);
  param_stride(c, ys.size(), 1, "y_scale");
  param_stride(c, yzp.size(), 1, "y_zero_point");
  const size_t asd = param_stride(c, as.size(), m, "a_scale");
  const size_t bsd = param_stride(c, bs.size(), n, "b_scale");
  const Int8Type yt = int8_type(c, y);
  uint8_t* yp = static_cast<uint8_t*>(y.raw());
  const size_t rows = size_t(y.numel() / n);
  for (size_t r = 0; r < rows; ++r) {
    const float sa = as[(r % size_t(m)) * asd];
    if (!bsd) {
      kernels::requantize_i32(acc.data() + r * size_t(n), size_t(n), 0, sa * bs[0] / ys[0], yzp[0], yt,
                              yp + r * size_t(n));
      continue;
    }
    for (size_t j = 0; j < size_t(n); ++j)
      kernels::requantize_i32(acc.data() + r * size_t(n) + j, 1, 0, sa * bs[j] / ys[0], yzp[0], yt,
                              yp + (r * size_t(n) + j));
  }
}

}  // namespace

void register_integer_matmul_exec() {
  set_executor(OpKind::QLinearMatMul, {qlinear_matmul, prepare_int_matmul});
  set_executor(OpKind::MatMulInteger, {matmul_integer, prepare_int_matmul});
}

}  // namespace mq::ops
