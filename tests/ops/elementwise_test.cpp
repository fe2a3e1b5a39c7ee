// Elementwise ops against hand-computed values and the scalar reference functions,
// with broadcasting, strided views and promotion.
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/cpu/elementwise_ops.h"
#include "libcore/ops/ops.h"
#include "tests/ops/fast_test_util.h"
#include "tests/test_util.h"

using namespace lamina::core;
using lamina::test::expect_close;

TEST(Elementwise, BinaryBroadcasts) {
  Array a(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  Array b(std::vector<float>{10, 20, 30}, {3});
  Array c = a + b;
  EXPECT_EQ(c.shape(), (Shape{2, 3}));
  expect_close(c, {11, 22, 33, 14, 25, 36});
  Array col(std::vector<float>{1, 2}, {2, 1});
  expect_close(a * col, {1, 2, 3, 8, 10, 12});
  expect_close(a - 1.0, {0, 1, 2, 3, 4, 5});
  expect_close(12.0 / a, {12, 6, 4, 3, 2.4, 2});
}

TEST(Elementwise, StridedViews) {
  Array a = reshape(arange(0, 12, 1, Dtype::float32), {3, 4});
  Array t = transpose(a);  // [4, 3], strided
  expect_close(t + 0.0, {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
  Array s = slice(a, {0, 1}, {3, 4}, {2, 2});  // rows 0,2; cols 1,3
  expect_close(s * 2.0, {2, 6, 18, 22});
  expect_close(exp(s), {std::exp(1.0), std::exp(3.0), std::exp(9.0), std::exp(11.0)}, 1e-3, 1e-6);
}

TEST(Elementwise, PromotionAndIntegerMath) {
  Array i(std::vector<int32_t>{1, 2, 3}, {3});
  Array h(std::vector<float>{0.5f, 0.5f, 0.5f}, {3}, Dtype::float16);
  EXPECT_EQ((i + h).dtype(), Dtype::float16);
  EXPECT_EQ((i / i).dtype(), Dtype::float32);
  EXPECT_EQ(exp(i).dtype(), Dtype::float32);
  EXPECT_EQ((i * 2.0).dtype(), Dtype::int32);
  EXPECT_EQ((h * 2.0).dtype(), Dtype::float16);
  Array u(std::vector<uint8_t>{1, 2, 3}, {3});
  Array s8(std::vector<int8_t>{-1, -2, -3}, {3});
  EXPECT_EQ((u + s8).dtype(), Dtype::int16);
  expect_close(u + s8, {0, 0, 0});
  expect_close(power(i, Array(3)), {1, 8, 27});
}

TEST(Elementwise, ComparisonsAndLogic) {
  Array a(std::vector<float>{1, 2, 3}, {3});
  Array b(std::vector<float>{3, 2, 1}, {3});
  EXPECT_EQ(less(a, b).dtype(), Dtype::bool_);
  expect_close(less(a, b), {1, 0, 0});
  expect_close(greater_equal(a, b), {0, 1, 1});
  expect_close(equal(a, b), {0, 1, 0});
  expect_close(not_equal(a, b), {1, 0, 1});
  expect_close(logical_and(less_equal(a, b), greater_equal(a, b)), {0, 1, 0});
  expect_close(logical_or(less(a, b), greater(a, b)), {1, 0, 1});
  expect_close(logical_not(less(a, b)), {0, 1, 1});
  expect_close(where(less(a, b), a, b), {1, 2, 1});
  expect_close(maximum(a, b), {3, 2, 3});
  expect_close(minimum(a, Array(2.0f)), {1, 2, 2});
}

TEST(Elementwise, UnaryMatchesScalarReference) {
  std::vector<float> xs = {-2.5f, -1.0f, -0.3f, 0.0f, 0.4f, 1.5f, 3.0f};
  Array x(xs, {7});
  auto check = [&](Array y, auto op) {
    std::vector<double> expected;
    for (float v : xs) expected.push_back(op(v));
    expect_close(y, expected, 1e-6, 1e-5);
  };
  namespace k = lamina::kernels::ops;
  check(negative(x), k::Negative{});
  check(abs(x), k::Abs{});
  check(sin(x), k::Sin{});
  check(cos(x), k::Cos{});
  check(tanh(x), k::Tanh{});
  check(sigmoid(x), k::Sigmoid{});
  check(erf(x), k::Erf{});
  check(silu(x), k::Silu{});
  check(gelu(x), k::Gelu{});
  check(gelu_tanh(x), k::GeluTanh{});
  check(floor(x), k::Floor{});
  check(ceil(x), k::Ceil{});
  check(round(x), k::Round{});
  check(sign(x), k::Sign{});
  check(square(x), k::Square{});
  // Hand-checked values.
  expect_close(round(Array(std::vector<float>{0.5f, 1.5f, 2.5f, -0.5f}, {4})), {0, 2, 2, -0});
  expect_close(gelu(Array(1.0f)), {0.8413447460685429}, 1e-6);
  expect_close(gelu_tanh(Array(1.0f)), {0.8411919906082768}, 1e-6);
  expect_close(silu(Array(1.0f)), {0.7310585786300049}, 1e-6);
  Array pos(std::vector<float>{0.25f, 1.0f, 4.0f}, {3});
  expect_close(sqrt(pos), {0.5, 1, 2});
  expect_close(rsqrt(pos), {2, 1, 0.5});
  expect_close(log(pos), {std::log(0.25), 0, std::log(4.0)});
  expect_close(log1p(pos), {std::log1p(0.25), std::log(2.0), std::log(5.0)});
}

TEST(Elementwise, HalfTypesComputeInFloat) {
  Array a(std::vector<float>{1.0f, 2.0f, 3.0f}, {3}, Dtype::bfloat16);
  Array b = a * a + 0.5;
  EXPECT_EQ(b.dtype(), Dtype::bfloat16);
  expect_close(b, {1.5, 4.5, 9.5});
  Array h = astype(a, Dtype::float16);
  expect_close(exp(h), {std::exp(1.0), std::exp(2.0), std::exp(3.0)}, 1e-2, 1e-3);
}

// swiglu(a, b) = silu(a) * b in one primitive: hand-computed values, broadcasting, integer
// promotion, the same values as the two ops in half types (silu rounded first), its vjp.
TEST(Elementwise, SwigluIsSiluTimesUp) {
  const double silu1 = 1.0 / (1.0 + std::exp(-1.0)), silu_m2 = -2.0 / (1.0 + std::exp(2.0));
  expect_close(swiglu(Array(std::vector<float>{1, -2}, {2}), Array(std::vector<float>{3, 0.5f}, {2})),
               {3 * silu1, 0.5 * silu_m2}, 1e-6, 1e-6);
  Array a = lamina::test::random_array({4, 1, 3}, 60, -4.0f, 4.0f);
  Array b = lamina::test::random_array({5, 1}, 61, -2.0f, 2.0f);
  Array y = swiglu(a, b);
  EXPECT_EQ(y.shape(), (Shape{4, 5, 3}));
  lamina::test::expect_arrays_close(y, silu(a) * b, 1e-6, 1e-6);
  EXPECT_EQ(swiglu(Array(std::vector<int32_t>{1, 2}, {2}), Array(std::vector<int32_t>{3, 4}, {2})).dtype(),
            Dtype::float32);
  for (Dtype t : {Dtype::float16, Dtype::bfloat16}) {
    Array ha = astype(a, t), hb = astype(b, t);
    Array fused = swiglu(ha, hb);
    EXPECT_EQ(fused.dtype(), t);
    lamina::test::expect_arrays_close(fused, silu(ha) * hb, 0, 0);  // bit for bit
    lamina::test::expect_arrays_close(astype(fused, Dtype::float32), y, 2e-2, 2e-2);
  }
  lamina::test::expect_vjp_matches_finite_differences(
      [](const std::vector<Array>& p) { return swiglu(p[0], p[1]); },
      {lamina::test::random_array({3, 7}, 62, -3.0f, 3.0f), lamina::test::random_array({3, 7}, 63)}, {0, 1});
}
