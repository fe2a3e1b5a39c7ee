// Sorting and scans against hand-computed values: sort/argsort (stability, NaN, every dtype,
// strided inputs), argpartition's defining property, topk, cumsum's flags and dtypes,
// thread-count independence, and vjps against central finite differences.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <string>

#include "libcore/backend/cpu/thread_pool.h"
#include "libcore/ops/ops.h"
#include "tests/ops/fast_test_util.h"
#include "tests/test_util.h"

using namespace lamina::core;
using lamina::test::expect_close;
using lamina::test::expect_grad_matches_finite_differences;

namespace {

const Dtype kAllDtypes[] = {Dtype::bool_,  Dtype::uint8,   Dtype::uint16,   Dtype::uint32,
                            Dtype::uint64, Dtype::int8,    Dtype::int16,    Dtype::int32,
                            Dtype::int64,  Dtype::float16, Dtype::bfloat16, Dtype::float32};

bool throws_error(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const lamina::Error&) {
    return true;
  }
  return false;
}

}  // namespace

TEST(Sort, SortAndArgsortValues) {
  Array a(std::vector<float>{3, 1, 2, -5, 0, 4}, {2, 3});
  expect_close(sort(a), {1, 2, 3, -5, 0, 4});
  expect_close(sort(a, 0), {-5, 0, 2, 3, 1, 4});
  Array order = argsort(a);
  EXPECT_EQ(order.dtype(), Dtype::uint32);
  expect_close(order, {1, 2, 0, 0, 1, 2});
  expect_close(argsort(a, 0), {1, 1, 0, 0, 0, 1});
  // Strided inputs: transposed and stepped views.
  expect_close(sort(transpose(a)), {-5, 3, 0, 1, 2, 4});
  Array s = slice(Array(std::vector<float>{9, 0, 7, 0, 8, 0}, {6}), {0}, {6}, {2});
  expect_close(sort(s), {7, 8, 9});
  expect_close(argsort(s), {1, 2, 0});
  EXPECT_TRUE(throws_error([] { sort(Array(1.0f)); }));
}

TEST(Sort, StableTiesAndNanLast) {
  Array t(std::vector<float>{2, 1, 2, 1, 2}, {5});
  expect_close(argsort(t), {1, 3, 0, 2, 4});
  Array n(std::vector<float>{NAN, 1, -INFINITY, NAN, 0}, {5});
  expect_close(sort(n), {-INFINITY, 0, 1, NAN, NAN});
  expect_close(argsort(n), {2, 4, 1, 0, 3});
  Array k = topk(n, 2);  // NaN counts as the largest
  auto v = k.to_vector<float>();
  EXPECT_TRUE(std::isnan(v[0]) && std::isnan(v[1]));
}

TEST(Sort, EveryDtype) {
  for (Dtype dt : kAllDtypes) {
    Array a = astype(Array(std::vector<float>{5, 0, 3, 1, 0, 2}, {6}), dt);
    Array s = sort(a);
    EXPECT_EQ(s.dtype(), dt);
    if (dt == Dtype::bool_) {
      expect_close(s, {0, 0, 1, 1, 1, 1});
      expect_close(argsort(a), {1, 4, 0, 2, 3, 5});
    } else {
      expect_close(s, {0, 0, 1, 2, 3, 5});
      expect_close(argsort(a), {1, 4, 3, 5, 2, 0});
      expect_close(topk(a, 2), {5, 3});
    }
  }
  Array neg = Array(std::vector<int32_t>{-3, 7, -100, 2}, {4}, Dtype::int8);
  expect_close(sort(neg), {-100, -3, 2, 7});
}

TEST(Sort, ArgpartitionProperty) {
  Array a = lamina::test::random_array({5, 37}, 11);
  auto values = a.to_vector<float>();
  for (int kth : {0, 7, 18, 36, -1, -10}) {
    auto idx = argpartition(a, kth).to_vector<int64_t>();
    const int k = kth < 0 ? kth + 37 : kth;
    for (int r = 0; r < 5; ++r) {
      std::vector<float> row(values.begin() + r * 37, values.begin() + (r + 1) * 37);
      std::vector<float> sorted = row;
      std::sort(sorted.begin(), sorted.end());
      std::vector<int64_t> perm(idx.begin() + r * 37, idx.begin() + (r + 1) * 37);
      std::vector<int64_t> check = perm;
      std::sort(check.begin(), check.end());
      for (int i = 0; i < 37; ++i) ASSERT_EQ(check[i], i);  // a permutation
      const float pivot = row[perm[k]];
      EXPECT_EQ(pivot, sorted[k]);
      for (int i = 0; i < k; ++i) EXPECT_LE(row[perm[i]], pivot);
      for (int i = k + 1; i < 37; ++i) EXPECT_GE(row[perm[i]], pivot);
    }
  }
  // Along axis 0 of a strided view.
  Array t = transpose(Array(std::vector<float>{4, 1, 3, 2, 0, 5}, {2, 3}));  // [[4,2],[1,0],[3,5]]
  auto p = argpartition(t, 1, 0).to_vector<int64_t>();
  EXPECT_EQ(p[2], 2);  // column 0: 1 < 3 < 4, the middle is row 2
  EXPECT_EQ(p[3], 0);  // column 1: 0 < 2 < 5, the middle is row 0
  EXPECT_TRUE(throws_error([&] { argpartition(a, 37); }));
}

TEST(Sort, Topk) {
  Array a(std::vector<float>{1, 9, 3, 7, 5, 2, 8, 4}, {2, 4});
  Array k = topk(a, 2);
  EXPECT_EQ(k.shape(), (Shape{2, 2}));
  expect_close(k, {9, 7, 8, 5});
  expect_close(topk(a, 4), {9, 7, 3, 1, 8, 5, 4, 2});
  expect_close(topk(a, 1, 0), {5, 9, 8, 7});
  EXPECT_EQ(topk(a, 0).shape(), (Shape{2, 0}));
  EXPECT_TRUE(throws_error([&] { topk(a, 5); }));
}

TEST(Sort, Cumsum) {
  Array a(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  expect_close(cumsum(a, 1), {1, 3, 6, 4, 9, 15});
  expect_close(cumsum(a, 0), {1, 2, 3, 5, 7, 9});
  expect_close(cumsum(a, 1, true), {6, 5, 3, 15, 11, 6});
  expect_close(cumsum(a, 1, false, false), {0, 1, 3, 0, 4, 9});
  expect_close(cumsum(a, -1, true, false), {5, 3, 0, 11, 6, 0});
  expect_close(cumsum(transpose(a), 1), {1, 5, 2, 7, 3, 9});  // strided input
  Array small = Array(std::vector<int32_t>{100, 100, 100}, {3}, Dtype::int8);
  EXPECT_EQ(cumsum(small, 0).dtype(), Dtype::int32);
  expect_close(cumsum(small, 0), {100, 200, 300});
  Array flags = Array(std::vector<int32_t>{1, 0, 1, 1}, {4}, Dtype::bool_);
  EXPECT_EQ(cumsum(flags, 0).dtype(), Dtype::int32);
  expect_close(cumsum(flags, 0), {1, 1, 2, 3});
  EXPECT_EQ(cumsum(Array(std::vector<int32_t>{1}, {1}, Dtype::uint16), 0).dtype(), Dtype::uint32);
  Array h = astype(a, Dtype::float16);
  EXPECT_EQ(cumsum(h, 1).dtype(), Dtype::float16);
  expect_close(cumsum(h, 1), {1, 3, 6, 4, 9, 15});
  // A long row of probabilities sums to 1 closely (double accumulation).
  Array p = full({100000}, 1e-5, Dtype::float32);
  EXPECT_NEAR(slice_axis(cumsum(p, 0), 0, -1, 100000).item<double>(), 1.0, 1e-6);
}

TEST(Sort, IndependentOfThreadCount) {
  const int saved = cpu::num_threads();
  Array a = lamina::test::random_array({300, 257}, 12);
  auto run = [&](int threads) {
    cpu::set_num_threads(threads);
    std::vector<std::vector<double>> out;
    out.push_back(sort(a, 0).to_vector<double>());
    out.push_back(argsort(a).to_vector<double>());
    out.push_back(argpartition(a, 100).to_vector<double>());
    out.push_back(cumsum(a, 0).to_vector<double>());
    return out;
  };
  auto one = run(1);
  auto many = run(4);
  cpu::set_num_threads(saved);
  EXPECT_EQ(one, many);
}

TEST(Sort, Vjps) {
  Array x = lamina::test::random_array({3, 5}, 31);
  expect_grad_matches_finite_differences([](const Array& v) { return sort(v); }, x);
  expect_grad_matches_finite_differences([](const Array& v) { return sort(v, 0); }, x);
  expect_grad_matches_finite_differences([](const Array& v) { return topk(v, 2); }, x);
  expect_grad_matches_finite_differences([](const Array& v) { return topk(transpose(v), 3); }, x);
  for (bool reverse : {false, true}) {
    for (bool inclusive : {false, true}) {
      expect_grad_matches_finite_differences([=](const Array& v) { return cumsum(v, 1, reverse, inclusive); }, x);
      expect_grad_matches_finite_differences([=](const Array& v) { return cumsum(v, 0, reverse, inclusive); }, x);
    }
  }
  // Index outputs carry no gradient, but gradients still flow through the values they pick.
  expect_grad_matches_finite_differences([](const Array& v) { return take_along_axis(v, argsort(v), 1) * 2.0; }, x);
}
