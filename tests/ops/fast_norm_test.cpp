// fast::rms_norm and fast::layer_norm against hand-computed values and the unfused ops,
// in float32/float16/bfloat16 and on strided inputs, and their vjps against finite
// differences.
#include <gtest/gtest.h>

#include <cmath>

#include "libcore/ops/fast_primitives.h"
#include "libcore/ops/ops.h"
#include "tests/ops/fast_test_util.h"
#include "tests/test_util.h"

using namespace lamina::core;
using lamina::test::expect_arrays_close;
using lamina::test::expect_close;
using lamina::test::expect_vjp_matches_finite_differences;
using lamina::test::random_array;

namespace {

Array rms_norm_reference(const Array& x, const std::optional<Array>& w, float eps) {
  Array y = x * rsqrt(mean(square(x), {-1}, true) + static_cast<double>(eps));
  return w ? y * *w : y;
}

Array layer_norm_reference(const Array& x, const std::optional<Array>& w,
                           const std::optional<Array>& b, float eps) {
  Array centred = x - mean(x, {-1}, true);
  Array y = centred * rsqrt(var(x, {-1}, true) + static_cast<double>(eps));
  if (w) y = y * *w;
  if (b) y = y + *b;
  return y;
}

}  // namespace

TEST(RmsNorm, HandComputed) {
  Array x(std::vector<float>{1, 2, 3, 4, 0, 0, 0, 2}, {2, 4});
  Array w(std::vector<float>{1, 0.5f, 2, -1}, {4});
  const double r0 = 1.0 / std::sqrt(7.5), r1 = 1.0 / std::sqrt(1.0 + 1e-5);
  expect_close(fast::rms_norm(x, std::nullopt, 0.0f), {r0, 2 * r0, 3 * r0, 4 * r0, 0, 0, 0, 2 * r1},
               1e-6, 1e-5);
  Array y = fast::rms_norm(x, w, 1e-5f);
  EXPECT_EQ(y.dtype(), Dtype::float32);
  EXPECT_EQ(y.shape(), x.shape());
  const double r0e = 1.0 / std::sqrt(7.5 + 1e-5);
  expect_close(y, {r0e, r0e, 6 * r0e, -4 * r0e, 0, 0, 0, -2 * r1}, 1e-6, 1e-5);
}

TEST(RmsNorm, MatchesUnfusedOps) {
  Array x = random_array({3, 5, 64}, 1, -3.0f, 3.0f);
  Array w = random_array({64}, 2);
  expect_arrays_close(fast::rms_norm(x, w, 1e-6f), rms_norm_reference(x, w, 1e-6f), 1e-5, 1e-5);
  expect_arrays_close(fast::rms_norm(x, std::nullopt, 1e-6f),
                      rms_norm_reference(x, std::nullopt, 1e-6f), 1e-5, 1e-5);
  // A row length that is not a multiple of the 8-wide accumulators.
  Array odd = random_array({4, 13}, 3);
  Array wo = random_array({13}, 4);
  expect_arrays_close(fast::rms_norm(odd, wo, 1e-5f), rms_norm_reference(odd, wo, 1e-5f), 1e-5,
                      1e-5);
}

TEST(RmsNorm, StridedInputAndWeight) {
  Array base = random_array({16, 6}, 5);
  Array x = transpose(base);  // [6, 16], last axis strided
  Array wbase = random_array({32}, 6);
  Array w = slice(wbase, {0}, {32}, {2});  // [16], stride 2
  expect_arrays_close(fast::rms_norm(x, w, 1e-5f), rms_norm_reference(x, w, 1e-5f), 1e-5, 1e-5);
  // A broadcast (stride-0) input row.
  Array row = broadcast_to(random_array({1, 16}, 7), {3, 16});
  expect_arrays_close(fast::rms_norm(row, w, 1e-5f), rms_norm_reference(row, w, 1e-5f), 1e-5, 1e-5);
}

TEST(RmsNorm, HalfTypesKeepDtypeAndAccumulateInFloat32) {
  Array x32 = random_array({4, 256}, 8, -4.0f, 4.0f);
  Array w32 = random_array({256}, 9);
  for (Dtype t : {Dtype::float16, Dtype::bfloat16}) {
    Array x = astype(x32, t);
    Array y = fast::rms_norm(x, astype(w32, t), 1e-5f);
    EXPECT_EQ(y.dtype(), t);
    // Reference from the same rounded inputs, computed in float32 and rounded once.
    Array ref = rms_norm_reference(astype(x, Dtype::float32),
                                   astype(astype(w32, t), Dtype::float32), 1e-5f);
    const double tol = t == Dtype::float16 ? 2e-3 : 1.6e-2;
    expect_arrays_close(astype(y, Dtype::float32), ref, tol, tol);
    // A float32 weight next to a half input: the output keeps x's dtype.
    EXPECT_EQ(fast::rms_norm(x, w32, 1e-5f).dtype(), t);
  }
}

TEST(RmsNorm, Vjp) {
  Array x = random_array({3, 8}, 10, -2.0f, 2.0f);
  Array w = random_array({8}, 11);
  expect_vjp_matches_finite_differences(
      [](const std::vector<Array>& p) { return fast::rms_norm(p[0], p[1], 1e-5f); }, {x, w},
      {0, 1});
  expect_vjp_matches_finite_differences(
      [](const std::vector<Array>& p) { return fast::rms_norm(p[0], std::nullopt, 1e-5f); }, {x},
      {0});
  // 1-D input: the weight cotangent is not a reduction.
  Array v = random_array({8}, 12, -2.0f, 2.0f);
  expect_vjp_matches_finite_differences(
      [](const std::vector<Array>& p) { return fast::rms_norm(p[0], p[1], 1e-5f); }, {v, w},
      {0, 1});
}

TEST(RmsNorm, VjpMatchesUnfusedVjp) {
  Array x = random_array({2, 3, 40}, 13, -2.0f, 2.0f);
  Array w = random_array({40}, 14);
  auto fused = grad(
      [](const std::vector<Array>& p) {
        return sum(square(fast::rms_norm(p[0], p[1], 1e-5f)) * p[0]);
      },
      {x, w});
  auto plain = grad(
      [](const std::vector<Array>& p) {
        return sum(square(rms_norm_reference(p[0], p[1], 1e-5f)) * p[0]);
      },
      {x, w});
  expect_arrays_close(fused[0], plain[0], 1e-4, 1e-4);
  expect_arrays_close(fused[1], plain[1], 1e-4, 1e-4);
}

TEST(RmsNorm, HalfTypeVjpFollowsFloat32Vjp) {
  Array x = random_array({4, 64}, 16, -2.0f, 2.0f);
  Array w = random_array({64}, 17);
  auto loss = [](const std::vector<Array>& p) {
    return sum(square(astype(fast::rms_norm(p[0], p[1], 1e-5f), Dtype::float32)) * 0.5);
  };
  auto g32 = grad(loss, {x, w});
  for (Dtype t : {Dtype::float16, Dtype::bfloat16}) {
    auto gh = grad(loss, {astype(x, t), astype(w, t)});
    const double tol = t == Dtype::float16 ? 1e-2 : 5e-2;
    for (int a = 0; a < 2; ++a) {
      EXPECT_EQ(gh[a].dtype(), t);
      expect_arrays_close(astype(gh[a], Dtype::float32), g32[a], tol, tol);
    }
  }
}

TEST(RmsNorm, RejectsBadInputs) {
  Array x = random_array({2, 4}, 15);
  EXPECT_THROW(fast::rms_norm(x, random_array({5}, 1), 1e-5f), lamina::Error);
  EXPECT_THROW(fast::rms_norm(x, random_array({1, 4}, 1), 1e-5f), lamina::Error);
  EXPECT_THROW(fast::rms_norm(astype(x, Dtype::int32), std::nullopt, 1e-5f), lamina::Error);
  EXPECT_THROW(fast::rms_norm(Array(1.0f), std::nullopt, 1e-5f), lamina::Error);
}

TEST(LayerNorm, HandComputed) {
  Array x(std::vector<float>{1, 2, 3, 4}, {1, 4});
  Array w(std::vector<float>{1, 2, 1, 1}, {4});
  Array b(std::vector<float>{0, 0, 1, -1}, {4});
  // mean 2.5, variance 1.25.
  const double r = 1.0 / std::sqrt(1.25 + 1e-5);
  expect_close(fast::layer_norm(x, w, b, 1e-5f), {-1.5 * r, -1.0 * r, 0.5 * r + 1, 1.5 * r - 1},
               1e-6, 1e-5);
  expect_close(fast::layer_norm(x, std::nullopt, std::nullopt, 1e-5f),
               {-1.5 * r, -0.5 * r, 0.5 * r, 1.5 * r}, 1e-6, 1e-5);
}

TEST(LayerNorm, MatchesUnfusedOps) {
  Array x = random_array({2, 7, 48}, 20, -3.0f, 5.0f);
  Array w = random_array({48}, 21);
  Array b = random_array({48}, 22);
  expect_arrays_close(fast::layer_norm(x, w, b, 1e-5f), layer_norm_reference(x, w, b, 1e-5f), 1e-5,
                      1e-5);
  expect_arrays_close(fast::layer_norm(x, std::nullopt, b, 1e-5f),
                      layer_norm_reference(x, std::nullopt, b, 1e-5f), 1e-5, 1e-5);
  expect_arrays_close(fast::layer_norm(x, w, std::nullopt, 1e-5f),
                      layer_norm_reference(x, w, std::nullopt, 1e-5f), 1e-5, 1e-5);
  Array xt = swapaxes(random_array({2, 48, 7}, 23), 1, 2);  // strided rows
  expect_arrays_close(fast::layer_norm(xt, w, b, 1e-5f), layer_norm_reference(xt, w, b, 1e-5f),
                      1e-5, 1e-5);
}

TEST(LayerNorm, HalfTypes) {
  Array x32 = random_array({3, 128}, 24, -2.0f, 6.0f);
  for (Dtype t : {Dtype::float16, Dtype::bfloat16}) {
    Array x = astype(x32, t);
    Array y = fast::layer_norm(x, std::nullopt, std::nullopt, 1e-5f);
    EXPECT_EQ(y.dtype(), t);
    Array ref = layer_norm_reference(astype(x, Dtype::float32), std::nullopt, std::nullopt, 1e-5f);
    const double tol = t == Dtype::float16 ? 2e-3 : 1.6e-2;
    expect_arrays_close(astype(y, Dtype::float32), ref, tol, tol);
  }
}

TEST(LayerNorm, Vjp) {
  Array x = random_array({3, 6}, 25, -2.0f, 2.0f);
  Array w = random_array({6}, 26);
  Array b = random_array({6}, 27);
  expect_vjp_matches_finite_differences(
      [](const std::vector<Array>& p) { return fast::layer_norm(p[0], p[1], p[2], 1e-5f); },
      {x, w, b}, {0, 1, 2});
  expect_vjp_matches_finite_differences(
      [](const std::vector<Array>& p) { return fast::layer_norm(p[0], std::nullopt, p[1], 1e-5f); },
      {x, b}, {0, 1});
  expect_vjp_matches_finite_differences(
      [](const std::vector<Array>& p) {
        return fast::layer_norm(p[0], std::nullopt, std::nullopt, 1e-5f);
      },
      {x}, {0});
}

TEST(LayerNorm, RejectsBadInputs) {
  Array x = random_array({2, 4}, 28);
  EXPECT_THROW(fast::layer_norm(x, std::nullopt, random_array({3}, 1), 1e-5f), lamina::Error);
  EXPECT_THROW(fast::layer_norm(x, random_array({8}, 1), std::nullopt, 1e-5f), lamina::Error);
}

// rms_norm of a pending a + b (a residual stream) is one node reading a and b: the same
// values as the norm of the evaluated sum in every float dtype, strided, broadcast and long
// rows, and gradients for a, b and the weight.
TEST(RmsNorm, OfAPendingSumReadsTheAddends) {
  for (int64_t n : {72, 5000}) {
    Array a = random_array({3, 5, n}, 70, -2.0f, 2.0f);
    Array b = transpose(random_array({5, 3, n}, 71, -2.0f, 2.0f), {1, 0, 2});
    Array w = random_array({n}, 72);
    for (Dtype t : {Dtype::float32, Dtype::float16, Dtype::bfloat16}) {
      SCOPED_TRACE(std::string(dtype_name(t)) + " n=" + std::to_string(n));
      Array ta = astype(a, t), tb = astype(b, t), tw = astype(w, t);
      Array fused = fast::rms_norm(ta + tb, tw, 1e-5f);
      const auto* p = dynamic_cast<const RmsNorm*>(fused.primitive().get());
      ASSERT_NE(p, nullptr);
      EXPECT_TRUE(p->has_residual());
      Array sum = ta + tb;
      sum.eval();
      expect_arrays_close(fused, fast::rms_norm(sum, tw, 1e-5f), 0, 0);
      expect_arrays_close(fast::rms_norm(ta + tb, std::nullopt, 1e-5f),
                          fast::rms_norm(sum, std::nullopt, 1e-5f), 0, 0);
    }
  }
  // A broadcasting sum: its addends are broadcast views (stride 0 over the rows).
  Array x = random_array({3, 8}, 73), row = random_array({8}, 74);
  Array evaluated = x + row;
  evaluated.eval();
  expect_arrays_close(fast::rms_norm(x + row, std::nullopt, 1e-5f), fast::rms_norm(evaluated, std::nullopt, 1e-5f), 0, 0);
  Array w = random_array({8}, 75);
  expect_vjp_matches_finite_differences(
      [](const std::vector<Array>& p) { return fast::rms_norm(p[0] + p[1], p[2], 1e-5f); },
      {random_array({3, 8}, 76, -2.0f, 2.0f), random_array({3, 8}, 77, -2.0f, 2.0f), w}, {0, 1, 2});
  expect_vjp_matches_finite_differences(
      [](const std::vector<Array>& p) { return fast::rms_norm(p[0] + p[1], std::nullopt, 1e-5f); },
      {random_array({3, 8}, 78, -2.0f, 2.0f), random_array({3, 8}, 79, -2.0f, 2.0f)}, {1, 0});
}
