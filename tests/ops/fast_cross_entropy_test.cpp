// fast::cross_entropy against hand-computed values and the unfused logsumexp - gather, with
// large logits, strided and half logits and several target dtypes; its vjp against finite
// differences and softmax - onehot; and its argument checks.
#include <gtest/gtest.h>

#include <cmath>

#include "libcore/ops/ops.h"
#include "libcore/ops/softmax.h"
#include "tests/ops/fast_test_util.h"
#include "tests/test_util.h"

using namespace lamina::core;
using lamina::test::expect_arrays_close;
using lamina::test::expect_close;
using lamina::test::expect_vjp_matches_finite_differences;
using lamina::test::random_array;

namespace {

Array one_hot(const Array& targets, int64_t vocab) {
  return astype(equal(expand_dims(targets, -1), arange(vocab, Dtype::int32)), Dtype::float32);
}

Array cross_entropy_reference(const Array& logits, const Array& targets) {
  Array x = astype(logits, Dtype::float32);
  return logsumexp(x, {-1}) - sum(x * one_hot(targets, x.shape(-1)), {-1});
}

}  // namespace

TEST(CrossEntropy, HandComputed) {
  Array logits(std::vector<float>{1, 2, 3, 0, 0, 0}, {2, 3});
  Array targets(std::vector<int32_t>{2, 0}, {2});
  Array loss = fast::cross_entropy(logits, targets);
  EXPECT_EQ(loss.shape(), (Shape{2}));
  EXPECT_EQ(loss.dtype(), Dtype::float32);
  expect_close(loss, {std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 3, std::log(3.0)},
               1e-6, 1e-6);
  // 1-D logits give a scalar loss.
  Array one = fast::cross_entropy(Array(std::vector<float>{0, 1}, {2}), Array(1));
  EXPECT_EQ(one.shape(), Shape{});
  expect_close(one, {std::log(1 + std::exp(1.0)) - 1}, 1e-6, 1e-6);
}

TEST(CrossEntropy, MatchesUnfusedOps) {
  Array logits = random_array({2, 3, 50}, 1, -4.0f, 4.0f);
  std::vector<int32_t> t = {0, 49, 7, 13, 25, 1};
  Array targets(t, {2, 3});
  expect_arrays_close(fast::cross_entropy(logits, targets),
                      cross_entropy_reference(logits, targets), 1e-5, 1e-5);
  for (Dtype td : {Dtype::int64, Dtype::uint8, Dtype::int16, Dtype::uint32}) {
    expect_arrays_close(fast::cross_entropy(logits, astype(targets, td)),
                        cross_entropy_reference(logits, targets), 1e-5, 1e-5);
  }
}

TEST(CrossEntropy, LargeLogitsAreStable) {
  Array logits(std::vector<float>{1000, 1001, -1000, 80000, 80000, 80000}, {2, 3});
  Array targets(std::vector<int32_t>{0, 2}, {2});
  expect_close(fast::cross_entropy(logits, targets),
               {std::log(1 + std::exp(1.0) + std::exp(-2000.0)) + 1000 - 1000, std::log(3.0)}, 1e-4,
               1e-5);
}

TEST(CrossEntropy, StridedAndHalfLogits) {
  Array base = random_array({37, 4}, 2, -3.0f, 3.0f);
  Array logits = transpose(base);  // [4, 37], vocab axis strided
  Array targets(std::vector<int64_t>{36, 0, 5, 20}, {4});
  expect_arrays_close(fast::cross_entropy(logits, targets),
                      cross_entropy_reference(logits, targets), 1e-5, 1e-5);
  for (Dtype t : {Dtype::float16, Dtype::bfloat16}) {
    Array h = astype(logits, t);
    Array loss = fast::cross_entropy(h, targets);
    EXPECT_EQ(loss.dtype(), Dtype::float32);
    expect_arrays_close(loss, cross_entropy_reference(h, targets), 1e-5, 1e-5);
  }
}

TEST(CrossEntropy, Vjp) {
  Array logits = random_array({2, 2, 6}, 3, -2.0f, 2.0f);
  Array targets(std::vector<int32_t>{5, 0, 3, 3}, {2, 2});
  expect_vjp_matches_finite_differences(
      [&](const std::vector<Array>& p) { return fast::cross_entropy(p[0], targets); }, {logits},
      {0});
  // The gradient of the summed loss is softmax - onehot.
  auto g =
      grad([&](const std::vector<Array>& p) { return sum(fast::cross_entropy(p[0], targets)); },
           {logits});
  expect_arrays_close(g[0], softmax(logits, -1) - one_hot(targets, 6), 1e-6, 1e-5);
  // Half logits get a cotangent of their own dtype.
  Array h = astype(logits, Dtype::bfloat16);
  auto gh = grad(
      [&](const std::vector<Array>& p) { return sum(fast::cross_entropy(p[0], targets)); }, {h});
  EXPECT_EQ(gh[0].dtype(), Dtype::bfloat16);
  expect_arrays_close(astype(gh[0], Dtype::float32),
                      softmax(astype(h, Dtype::float32), -1) - one_hot(targets, 6), 4e-3, 1e-2);
}

TEST(CrossEntropy, RejectsBadArguments) {
  Array logits = random_array({2, 5}, 4);
  EXPECT_THROW(fast::cross_entropy(logits, Array(std::vector<int32_t>{1, 2, 3}, {3})),
               lamina::Error);  // shape
  EXPECT_THROW(fast::cross_entropy(logits, Array(std::vector<float>{1, 2}, {2})),
               lamina::Error);  // float targets
  EXPECT_THROW(
      fast::cross_entropy(astype(logits, Dtype::int32), Array(std::vector<int>{1, 2}, {2})),
      lamina::Error);
  // Out-of-range targets are caught when the loss is evaluated.
  EXPECT_THROW(fast::cross_entropy(logits, Array(std::vector<int32_t>{1, 5}, {2})).eval(),
               lamina::Error);
  EXPECT_THROW(fast::cross_entropy(logits, Array(std::vector<int32_t>{-100, 0}, {2})).eval(),
               lamina::Error);
}
