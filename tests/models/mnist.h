#pragma once
// The MNIST test set from ../shared/data/mnist (IDX, gzip) for model tests.
#include <doctest/doctest.h>
#include <zlib.h>

#include <algorithm>
#include <string>

#include "engine/session.h"

namespace test_data {

/// images u8 [N,28,28], labels u8 [N].
struct Mnist {
  mq::Tensor images, labels;
};

inline std::string gunzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  REQUIRE(f != nullptr);
  std::string out;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, size_t(n));
  gzclose(f);
  return out;
}

inline uint32_t be32(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) |
         (uint32_t(uint8_t(s[at + 2])) << 8) | uint32_t(uint8_t(s[at + 3]));
}

inline Mnist load_mnist(const std::string& dir) {
  const std::string images = gunzip(dir + "/t10k-images-idx3-ubyte.gz");
  const std::string labels = gunzip(dir + "/t10k-labels-idx1-ubyte.gz");
  REQUIRE(images.size() >= 16);
  REQUIRE(labels.size() >= 8);
  REQUIRE(be32(images, 0) == 2051);
  REQUIRE(be32(labels, 0) == 2049);
  const uint32_t n = be32(images, 4);
  REQUIRE(n == be32(labels, 4));
  REQUIRE(be32(images, 8) == 28);
  REQUIRE(be32(images, 12) == 28);
  REQUIRE(images.size() >= 16 + size_t(n) * 784);
  REQUIRE(labels.size() >= 8 + size_t(n));
  Mnist m{mq::Tensor(mq::DType::u8, {int64_t(n), 28, 28}), mq::Tensor(mq::DType::u8, {int64_t(n)})};
  std::copy(images.begin() + 16, images.begin() + 16 + long(n) * 784, reinterpret_cast<char*>(m.images.raw()));
  std::copy(labels.begin() + 8, labels.begin() + 8 + long(n), reinterpret_cast<char*>(m.labels.raw()));
  return m;
}

/// mnist8 takes one raw-pixel (0–255) image [1,1,28,28]; image i as its input.
inline mq::Tensor mnist8_input(const Mnist& m, int64_t i) {
  mq::Tensor x(mq::DType::f32, {1, 1, 28, 28});
  const uint8_t* p = m.images.data<uint8_t>() + i * 784;
  for (int k = 0; k < 784; ++k) x.data<float>()[k] = float(p[k]);
  return x;
}

/// Top-1 accuracy of an mnist8-style session over the whole set.
inline double mnist8_top1(mq::Session& s, const Mnist& m) {
  const std::string in = s.input_names().at(0), out = s.output_names().at(0);
  int64_t correct = 0, n = m.images.dim(0);
  for (int64_t i = 0; i < n; ++i) {
    mq::Tensor y = s.run({{in, mnist8_input(m, i)}}).at(out);
    const float* l = y.data<float>();
    correct += int64_t(std::max_element(l, l + 10) - l) == int64_t(m.labels.data<uint8_t>()[i]);
  }
  return double(correct) / double(n);
}

}  // namespace test_data
