// Reductions over any axes, against hand-computed values and a double-precision loop.
#include <gtest/gtest.h>

#include <cmath>

#include "libcore/ops/ops.h"
#include "tests/test_util.h"

using namespace lamina::core;
using lamina::test::expect_close;

TEST(Reduce, SumMeanMaxMinProdOverAxes) {
  Array a = reshape(arange(1, 7, 1, Dtype::float32), {2, 3});  // [[1,2,3],[4,5,6]]
  expect_close(sum(a), {21});
  expect_close(sum(a, {0}), {5, 7, 9});
  expect_close(sum(a, {1}), {6, 15});
  EXPECT_EQ(sum(a, {1}, true).shape(), (Shape{2, 1}));
  expect_close(mean(a, {-1}), {2, 5});
  expect_close(max(a, {0}), {4, 5, 6});
  expect_close(min(a, {1}), {1, 4});
  expect_close(prod(a, {1}), {6, 120});
  expect_close(var(a, {1}), {2.0 / 3, 2.0 / 3});
  expect_close(var(a, {1}, false, 1), {1, 1});
  expect_close(logsumexp(a, {1}), {std::log(std::exp(1.) + std::exp(2.) + std::exp(3.)),
                                    std::log(std::exp(4.) + std::exp(5.) + std::exp(6.))}, 1e-5);
}

TEST(Reduce, StridedInputAndManyAxes) {
  Array x = lamina::test::random_array({4, 5, 6}, 7);
  Array t = transpose(x, {2, 0, 1});  // [6, 4, 5]
  auto v = x.to_vector<double>();
  // sum over axes {0, 2} of t == sum over x's axes {2, 1} -> per x axis 0 (t axis 1)
  std::vector<double> expected(4, 0.0);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 5; ++j)
      for (int k = 0; k < 6; ++k) expected[i] += v[(i * 5 + j) * 6 + k];
  expect_close(sum(t, {0, 2}), expected, 1e-4);
}

TEST(Reduce, LargeFullReductionIsAccurate) {
  Array x = ones({1 << 20}, Dtype::float32);
  expect_close(sum(x), {1 << 20});
  expect_close(mean(x * 3.0), {3.0});
}

TEST(Reduce, DtypesOfResults) {
  Array b(std::vector<bool>{true, true, false}, {3});
  EXPECT_EQ(sum(b).dtype(), Dtype::int32);
  expect_close(sum(b), {2});
  Array u(std::vector<uint8_t>{200, 100}, {2});
  EXPECT_EQ(sum(u).dtype(), Dtype::uint32);
  expect_close(sum(u), {300});
  Array h(std::vector<float>{1, 2, 3}, {3}, Dtype::bfloat16);
  EXPECT_EQ(sum(h).dtype(), Dtype::bfloat16);
  EXPECT_EQ(mean(Array(std::vector<int>{1, 2}, {2})).dtype(), Dtype::float32);
}

TEST(Reduce, ArgmaxArgmin) {
  Array a(std::vector<float>{3, 9, 1, 9, 0, 2}, {2, 3});
  expect_close(argmax(a, 1), {1, 0});  // first of ties
  expect_close(argmin(a, 1), {2, 1});
  expect_close(argmax(a, 0), {1, 0, 1});
  expect_close(argmax(a), {1});
  EXPECT_EQ(argmax(a, 1, true).shape(), (Shape{2, 1}));
  EXPECT_EQ(argmax(a, 1).dtype(), Dtype::uint32);
}

TEST(Reduce, LogsumexpHandlesInfinities) {
  Array a(std::vector<float>{-INFINITY, -INFINITY, 0, 1000}, {2, 2});
  auto v = logsumexp(a, {1}).to_vector<float>();
  EXPECT_TRUE(std::isinf(v[0]) && v[0] < 0);
  EXPECT_NEAR(v[1], 1000.0, 1e-3);
}

TEST(Reduce, EmptyAndErrors) {
  expect_close(sum(zeros({0, 3}), {0}), {0, 0, 0});
  EXPECT_THROW(max(zeros({0})), lamina::Error);
  EXPECT_THROW(sum(ones({2}), {1}), lamina::Error);
  EXPECT_THROW(sum(ones({2, 2}), {0, 0}), lamina::Error);
}
