// softmax against a double reference: rows of many lengths (vector tails), any axis or
// several axes, strided views, extreme values, masks (-inf), NaN, half types, the
// kernel's scalar vs AVX2 paths and vector exp, and the vjp against finite differences.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "kernels/cpu/softmax.h"
#include "libcore/ops/ops.h"
#include "libcore/ops/softmax.h"
#include "tests/test_util.h"

using namespace lamina::core;
using lamina::test::expect_close;
using lamina::test::random_array;

namespace {

// Softmax of x (row-major values of `shape`) along `axis`, in double.
std::vector<double> reference_softmax(const std::vector<double>& x, const Shape& shape, int axis) {
  int64_t n = shape[axis], inner = 1, outer = 1;
  for (int d = axis + 1; d < static_cast<int>(shape.size()); ++d) inner *= shape[d];
  for (int d = 0; d < axis; ++d) outer *= shape[d];
  std::vector<double> y(x.size());
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < inner; ++j) {
      auto at = [&](int64_t i) { return (o * n + i) * inner + j; };
      double mx = -INFINITY;
      for (int64_t i = 0; i < n; ++i) mx = std::max(mx, x[at(i)]);
      double s = 0;
      for (int64_t i = 0; i < n; ++i) s += std::exp(x[at(i)] - mx);
      for (int64_t i = 0; i < n; ++i) y[at(i)] = std::exp(x[at(i)] - mx) / s;
    }
  }
  return y;
}

}  // namespace

TEST(Softmax, LastAxisManyLengths) {
  uint32_t seed = 1;
  for (int64_t n : {1, 2, 7, 8, 15, 16, 17, 31, 33, 100, 1000, 4099}) {
    Array x = random_array({3, n}, seed++, -5.0f, 5.0f);
    Array y = softmax(x);
    EXPECT_EQ(y.shape(), x.shape());
    expect_close(y, reference_softmax(x.to_vector<double>(), x.shape(), 1), 1e-7, 1e-5);
  }
  Array v = random_array({10}, 3);
  expect_close(softmax(v), reference_softmax(v.to_vector<double>(), v.shape(), 0), 1e-7, 1e-5);
  expect_close(softmax(Array(3.0f)), {1.0});
}

TEST(Softmax, OtherAxesAndViews) {
  Array x = random_array({4, 5, 6}, 1, -3.0f, 3.0f);
  auto xv = x.to_vector<double>();
  for (int axis : {0, 1, 2, -1, -2}) {
    int ax = axis < 0 ? axis + 3 : axis;
    expect_close(softmax(x, axis), reference_softmax(xv, x.shape(), ax), 1e-7, 1e-5);
  }
  // Transposed and sliced inputs.
  Array t = transpose(random_array({7, 9}, 2));
  expect_close(softmax(t), reference_softmax(t.to_vector<double>(), t.shape(), 1), 1e-7, 1e-5);
  Array s = slice(random_array({8, 20}, 3), {1, 0}, {8, 20}, {2, 3});
  expect_close(softmax(s), reference_softmax(s.to_vector<double>(), s.shape(), 1), 1e-7, 1e-5);
  expect_close(softmax(s, 0), reference_softmax(s.to_vector<double>(), s.shape(), 0), 1e-7, 1e-5);
  // Broadcast input (stride 0 along the axis).
  Array b = broadcast_to(random_array({3, 1}, 4), {3, 5});
  expect_close(softmax(b), std::vector<double>(15, 0.2), 1e-7, 1e-6);
}

TEST(Softmax, SeveralAxes) {
  Array x = random_array({3, 4, 5}, 1, -2.0f, 2.0f);
  // Over axes {1, 2}: each [4, 5] block sums to one.
  Array y = softmax(x, std::vector<int>{1, 2});
  EXPECT_EQ(y.shape(), x.shape());
  auto merged = reference_softmax(x.to_vector<double>(), {3, 20}, 1);
  expect_close(y, merged, 1e-7, 1e-5);
  // Over axes {0, 2}: compare against a manual transpose.
  Array z = softmax(x, std::vector<int>{0, 2});
  Array zt = transpose(z, {1, 0, 2});  // [4, 3, 5]
  Array xt = contiguous(transpose(x, {1, 0, 2}));
  auto ref = reference_softmax(xt.to_vector<double>(), {4, 15}, 1);
  expect_close(zt, ref, 1e-7, 1e-5);
  // All axes.
  Array all = softmax(x, std::vector<int>{});
  expect_close(all, reference_softmax(x.to_vector<double>(), {60}, 0), 1e-7, 1e-5);
  EXPECT_THROW(softmax(x, std::vector<int>{1, 1}), lamina::Error);
  EXPECT_THROW(softmax(x, 3), lamina::Error);
}

TEST(Softmax, ExtremeValuesMasksAndNaN) {
  const float inf = std::numeric_limits<float>::infinity();
  // Large magnitudes do not overflow (the max is subtracted first).
  Array big(std::vector<float>{1000, 999, -1000, 998, 1000}, {5});
  expect_close(softmax(big),
               reference_softmax({1000, 999, -1000, 998, 1000}, {5}, 0), 1e-7, 1e-5);
  // -inf (masked) entries get exactly 0; rows of every length take the vector and tail paths.
  for (int64_t n : {3, 8, 19, 40}) {
    std::vector<float> v(n);
    for (int64_t i = 0; i < n; ++i) v[i] = i % 3 == 0 ? -inf : static_cast<float>(i) * 0.1f;
    auto y = softmax(Array(v, {n})).to_vector<float>();
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (i % 3 == 0) {
        EXPECT_EQ(y[i], 0.0f);
      }
      total += y[i];
    }
    EXPECT_NEAR(total, 1.0, 1e-6);
  }
  // Very negative (but finite) differences underflow to 0.
  auto tiny = softmax(Array(std::vector<float>{0, -200, -90, -87}, {4})).to_vector<double>();
  EXPECT_NEAR(tiny[0], 1.0, 1e-7);
  EXPECT_EQ(tiny[1], 0.0);
  EXPECT_LT(tiny[3], 1e-37);
  // A NaN makes its row NaN; an all -inf row is NaN (0 / 0), as in PyTorch.
  auto nan_row = softmax(Array(std::vector<float>{1, NAN, 2, 3, 4, 5, 6, 7, 8}, {9})).to_vector<float>();
  for (float v : nan_row) EXPECT_TRUE(std::isnan(v));
  auto masked = softmax(Array(std::vector<float>{-inf, -inf, -inf}, {3})).to_vector<float>();
  for (float v : masked) EXPECT_TRUE(std::isnan(v));
}

TEST(Softmax, HalfTypesAndIntegers) {
  for (Dtype dtype : {Dtype::float16, Dtype::bfloat16}) {
    // The result is float32 math rounded once: half an ulp of the output type.
    const double rtol = dtype == Dtype::float16 ? 1.0 / 1024 : 1.0 / 128;
    for (int64_t n : {5, 16, 77}) {
      Array x = astype(random_array({4, n}, static_cast<uint32_t>(n), -4.0f, 4.0f), dtype);
      Array y = softmax(x);
      EXPECT_EQ(y.dtype(), dtype);
      expect_close(y, reference_softmax(x.to_vector<double>(), x.shape(), 1), 1e-7, rtol);
      Array y0 = softmax(x, 0);
      expect_close(y0, reference_softmax(x.to_vector<double>(), x.shape(), 0), 1e-7, rtol);
    }
    // precise only matters to backends computing in the input dtype: same result here.
    Array x = astype(random_array({2, 33}, 9), dtype);
    lamina::test::expect_arrays_close(softmax(x, -1, true), softmax(x, -1, false), 0, 0);
  }
  Array i(std::vector<int32_t>{1, 2, 3}, {3});
  Array yi = softmax(i);
  EXPECT_EQ(yi.dtype(), Dtype::float32);
  expect_close(yi, reference_softmax({1, 2, 3}, {3}, 0), 1e-7, 1e-6);
}

TEST(Softmax, InPlaceOnDeadInput) {
  // The input is an intermediate no one else holds: its buffer is reused for the output.
  Array x = random_array({64, 300}, 5);
  auto ref = reference_softmax(x.to_vector<double>(), x.shape(), 1);
  expect_close(softmax(x * 1.0), ref, 1e-7, 1e-5);
  auto ref0 = reference_softmax(x.to_vector<double>(), x.shape(), 0);
  expect_close(softmax(x * 1.0, 0), ref0, 1e-7, 1e-5);
}

TEST(Softmax, KernelScalarAndSimdAgree) {
  using namespace lamina::kernels;
  // The vector exp against std::exp over the range softmax feeds it.
  std::vector<float> xs;
  for (float v = -87.0f; v <= 10.0f; v += 0.0137f) xs.push_back(v);
  xs.push_back(0.0f);
  xs.push_back(-1e-8f);
  std::vector<float> ys(xs.size());
  exp_row(xs.data(), ys.data(), static_cast<int64_t>(xs.size()), best_isa());
  for (size_t i = 0; i < xs.size(); ++i) {
    double e = std::exp(static_cast<double>(xs[i]));
    EXPECT_NEAR(ys[i], e, 3e-7 * e) << "exp(" << xs[i] << ")";
  }
  std::mt19937 gen(7);
  std::uniform_real_distribution<float> dist(-10, 10);
  for (int64_t n : {1, 3, 8, 9, 16, 23, 64, 129}) {
    std::vector<float> x(n);
    for (auto& v : x) v = dist(gen);
    std::vector<double> xd(x.begin(), x.end());
    auto ref = reference_softmax(xd, {n}, 0);
    for (Isa isa : {Isa::scalar, best_isa()}) {
      std::vector<float> y(n);
      softmax_row(x.data(), y.data(), n, isa);
      for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(y[i], ref[i], 1e-6 * ref[i] + 1e-9);
    }
  }
}

TEST(Softmax, VjpMatchesFiniteDifferences) {
  auto check = [](const Shape& shape, const std::vector<int>& axes) {
    SCOPED_TRACE(shape_string(shape));
    Array x0 = random_array(shape, 11, -2.0f, 2.0f);
    Array w = random_array(shape, 12);
    auto loss = [&](const std::vector<Array>& x) { return sum(softmax(x[0], axes) * w); };
    auto g = grad(loss, {x0})[0].to_vector<double>();
    auto base = x0.to_vector<float>();
    const float eps = 1e-2f;
    for (size_t i = 0; i < base.size(); ++i) {
      auto plus = base, minus = base;
      plus[i] += eps;
      minus[i] -= eps;
      double numeric = (loss({Array(plus, shape)}).item<double>() -
                        loss({Array(minus, shape)}).item<double>()) / (2 * eps);
      EXPECT_NEAR(g[i], numeric, 2e-3 * (1 + std::abs(numeric))) << "element " << i;
    }
  };
  check({2, 5}, {-1});
  check({3, 4}, {0});
  check({2, 3, 4}, {1, 2});
  check({9}, {0});
}
