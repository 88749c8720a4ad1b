// The Eigen fp32 GEMM body shared by sgemm__avx2.cpp and sgemm__avx512.cpp. Each includes
// it after renaming Eigen's namespace (#define Eigen mq_eigen_<isa>), so that the linker can
// never hand a baseline caller (the fp32 op kernels instantiate Eigen at the baseline ISA
// too) an ISA-specific copy of an Eigen template.
#pragma once

#include <Eigen/Core>

#include <cstddef>

namespace mq::kernels {
namespace {

inline void sgemm_eigen_impl(std::size_t m0, std::size_t m1, std::size_t n, std::size_t k, const float* a,
                             std::size_t lda, const float* w, std::size_t ldw, const float* bias, float* c,
                             std::size_t ldc, bool accumulate) {
  using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Stride = Eigen::OuterStride<>;
  const auto rows = static_cast<Eigen::Index>(m1 - m0);
  if (rows <= 0) return;
  Eigen::Map<const RowMat, 0, Stride> A(a + m0 * lda, rows, static_cast<Eigen::Index>(k), Stride(lda));
  Eigen::Map<const RowMat, 0, Stride> W(w, static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(k),
                                        Stride(ldw));
  Eigen::Map<RowMat, 0, Stride> C(c + m0 * ldc, rows, static_cast<Eigen::Index>(n), Stride(ldc));
  if (accumulate) C.noalias() += A * W.transpose();
  else C.noalias() = A * W.transpose();
  if (bias) {
    Eigen::Map<const Eigen::RowVectorXf> b(bias, static_cast<Eigen::Index>(n));
    C.rowwise() += b;
  }
}

}  // namespace
}  // namespace mq::kernels
