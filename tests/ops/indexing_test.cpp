// Indexing ops against hand-computed values: concatenate/stack/split/pad, take and
// take_along_axis with every index dtype, scatters (duplicates, broadcasting), tril/triu,
// strided inputs, errors, thread-count independence, and vjps against finite differences.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
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
const Dtype kIndexDtypes[] = {Dtype::uint8, Dtype::uint16, Dtype::uint32, Dtype::uint64,
                              Dtype::int8,  Dtype::int16,  Dtype::int32,  Dtype::int64};

// Runs `fn` and returns the message of the lamina::Error it throws ("" if none).
std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const lamina::Error& e) {
    return e.what();
  }
  return "";
}

Array iota(const Shape& shape, Dtype dtype = Dtype::float32) {
  return reshape(arange(0.0, static_cast<double>(shape_size(shape)), 1.0, dtype), shape);
}

Array ints(const std::vector<int64_t>& v, Shape shape, Dtype dtype = Dtype::int32) {
  return Array(v, std::move(shape), dtype);
}

}  // namespace

TEST(Indexing, ConcatenateValuesAndPromotion) {
  Array a = iota({2, 2});
  Array b(std::vector<int32_t>{10, 11, 12, 13, 14, 15}, {2, 3});
  Array c = concatenate({a, b}, 1);
  EXPECT_EQ(c.shape(), (Shape{2, 5}));
  EXPECT_EQ(c.dtype(), Dtype::float32);
  expect_close(c, {0, 1, 10, 11, 12, 2, 3, 13, 14, 15});
  Array d = concatenate({a, iota({1, 2}), a}, 0);
  EXPECT_EQ(d.shape(), (Shape{5, 2}));
  expect_close(d, {0, 1, 2, 3, 0, 1, 0, 1, 2, 3});
  // Strided inputs: a transpose and a stepped slice.
  Array m = iota({3, 3});
  expect_close(concatenate({transpose(m), slice(m, {0, 0}, {3, 3}, {2, 1})}, 0),
               {0, 3, 6, 1, 4, 7, 2, 5, 8, 0, 1, 2, 6, 7, 8}, 0, 0);
  expect_close(concatenate({a, iota({2, 0})}, -1), {0, 1, 2, 3});
  EXPECT_NE(error_of([&] { concatenate({a, iota({3, 3})}, 1); }).find("does not match"), std::string::npos);
  EXPECT_FALSE(error_of([] { concatenate({}, 0); }).empty());
}

TEST(Indexing, StackAndSplit) {
  Array a(std::vector<float>{1, 2, 3}, {3});
  Array b(std::vector<float>{4, 5, 6}, {3});
  expect_close(stack({a, b}), {1, 2, 3, 4, 5, 6});
  Array s = stack({a, b}, -1);
  EXPECT_EQ(s.shape(), (Shape{3, 2}));
  expect_close(s, {1, 4, 2, 5, 3, 6});

  Array m = iota({4, 3});
  auto parts = split(m, 2, 0);
  ASSERT_EQ(parts.size(), 2u);
  expect_close(parts[1], {6, 7, 8, 9, 10, 11});
  auto cols = split(m, Shape{1, 2}, 1);
  ASSERT_EQ(cols.size(), 3u);
  EXPECT_EQ(cols[0].shape(), (Shape{4, 1}));
  expect_close(cols[1], {1, 4, 7, 10});
  expect_close(cols[2], {2, 5, 8, 11});
  auto neg = split(m, Shape{-1}, 0);  // NumPy: negative split points count from the end
  EXPECT_EQ(neg[0].shape(), (Shape{3, 3}));
  EXPECT_EQ(neg[1].shape(), (Shape{1, 3}));
  EXPECT_NE(error_of([&] { split(m, 3, 0); }).find("equal sections"), std::string::npos);
}

TEST(Indexing, Pad) {
  Array a = iota({2, 2});
  Array p = pad(a, {{1, 0}, {0, 2}}, -1.0);
  EXPECT_EQ(p.shape(), (Shape{3, 4}));
  expect_close(p, {-1, -1, -1, -1, 0, 1, -1, -1, 2, 3, -1, -1});
  Array q = pad(transpose(a), {{1, 1}});  // one pair for every axis, strided input
  EXPECT_EQ(q.shape(), (Shape{4, 4}));
  expect_close(q, {0, 0, 0, 0, 0, 0, 2, 0, 0, 1, 3, 0, 0, 0, 0, 0});
  Array i = pad(Array(std::vector<int32_t>{5, 6}, {2}), {{2, 1}}, 7);
  EXPECT_EQ(i.dtype(), Dtype::int32);
  expect_close(i, {7, 7, 5, 6, 7});
  EXPECT_FALSE(error_of([&] { pad(a, {{1, 1}, {1, 1}, {1, 1}}); }).empty());
  EXPECT_FALSE(error_of([&] { pad(a, {{-1, 1}}); }).empty());
}

TEST(Indexing, TakeAlongAxes) {
  Array a = iota({3, 4});
  Array rows = take(a, ints({2, 0, 2}, {3}), 0);
  EXPECT_EQ(rows.shape(), (Shape{3, 4}));
  expect_close(rows, {8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11});
  Array cols = take(a, ints({3, -1, 0, 1}, {2, 2}), 1);  // 2-d indices, negative index
  EXPECT_EQ(cols.shape(), (Shape{3, 2, 2}));
  expect_close(cols, {3, 3, 0, 1, 7, 7, 4, 5, 11, 11, 8, 9});
  Array scalar_index = take(a, Array(1), 0);
  EXPECT_EQ(scalar_index.shape(), (Shape{4}));
  expect_close(scalar_index, {4, 5, 6, 7});
  expect_close(take(a, ints({11, 5}, {2})), {11, 5});  // flattened
  expect_close(gather(transpose(a), ints({1}, {1}), 0), {1, 5, 9});  // strided input
  EXPECT_EQ(take(a, ints({}, {0}), 1).shape(), (Shape{3, 0}));
}

TEST(Indexing, TakeEveryDtypeAndIndexDtype) {
  for (Dtype dt : kAllDtypes) {
    Array a = astype(Array(std::vector<float>{0, 1, 1, 0, 3, 2}, {6}), dt);
    std::vector<double> expected = {3, 1, 0};
    if (dt == Dtype::bool_) expected = {1, 1, 0};
    for (Dtype it : kIndexDtypes) {
      Array t = take(a, ints({4, 2, 0}, {3}, it), 0);
      EXPECT_EQ(t.dtype(), dt);
      expect_close(t, expected);
    }
    // Rows {0, 1, 1} and {0, 3, 2} (bool: {0, 1, 1}, {0, 1, 1}).
    Array along = take_along_axis(reshape(a, {2, 3}), ints({2, 0}, {2, 1}, Dtype::uint8), 1);
    EXPECT_EQ(along.dtype(), dt);
    expect_close(along, {1, 0});
  }
  EXPECT_NE(error_of([] { take(iota({3}), Array(std::vector<float>{1}, {1}), 0); }).find("integer"),
            std::string::npos);
}

TEST(Indexing, OutOfRangeIndexIsAnError) {
  Array a = iota({2, 5});
  std::string msg = error_of([&] { take(a, ints({1, 7}, {2}), 1).eval(); });
  EXPECT_NE(msg.find("index 7"), std::string::npos) << msg;
  EXPECT_NE(msg.find("size 5"), std::string::npos) << msg;
  EXPECT_NE(error_of([&] { take(a, ints({-3}, {1}), 0).eval(); }).find("index -3"), std::string::npos);
  EXPECT_NE(error_of([&] { take(a, ints({5}, {1}, Dtype::uint64), 1).eval(); }).find("index 5"),
            std::string::npos);
  EXPECT_FALSE(error_of([&] { take_along_axis(a, ints({0, 9}, {2, 1}), 1).eval(); }).empty());
  EXPECT_FALSE(error_of([&] { scatter(a, ints({2}, {1}), Array(1.0f), 0).eval(); }).empty());
  EXPECT_FALSE(error_of([&] { put_along_axis(a, ints({5, 0}, {2, 1}), Array(1.0f), 1).eval(); }).empty());
}

TEST(Indexing, ScatterAssignAndAdd) {
  Array a = zeros({4, 2});
  Array upd = iota({3, 2}) + 1.0;
  // Row 1 is written twice: the later update (row-major order of indices) wins.
  expect_close(scatter(a, ints({1, 3, 1}, {3}), upd, 0), {0, 0, 5, 6, 0, 0, 3, 4});
  expect_close(scatter_add(a, ints({1, 3, -3}, {3}), upd, 0), {0, 0, 6, 8, 0, 0, 3, 4});
  // Updates broadcast to take's shape; scatter along the last axis of a strided view.
  Array t = transpose(iota({2, 3}));  // [3, 2] = {0,3,1,4,2,5}
  expect_close(scatter(t, ints({0}, {1}), Array(9.0f), 1), {9, 3, 9, 4, 9, 5});
  Array i = Array(std::vector<int32_t>{1, 2, 3}, {3});
  expect_close(scatter_add(i, ints({0, 0, 2}, {3}), Array(std::vector<int32_t>{10, 20, 30}, {3}), 0),
               {31, 2, 33});
  Array h = astype(iota({3}), Dtype::bfloat16);
  Array hs = scatter_add(h, ints({2, 2}, {2}), Array(0.5f), 0);
  EXPECT_EQ(hs.dtype(), Dtype::bfloat16);
  expect_close(hs, {0, 1, 3});
  Array b = zeros({3}, Dtype::bool_);
  expect_close(scatter(b, ints({1}, {1}), Array(true), 0), {0, 1, 0});
  EXPECT_FALSE(error_of([&] { scatter_add(b, ints({1}, {1}), Array(true), 0); }).empty());
  EXPECT_NE(error_of([&] { scatter(a, ints({1}, {1}), iota({3}), 0); }).find("updates"),
            std::string::npos);
}

TEST(Indexing, TakeAndPutAlongAxis) {
  Array a(std::vector<float>{10, 30, 20, 5, 4, 6}, {2, 3});
  Array idx = ints({1, 2, 0, 2}, {2, 2});
  expect_close(take_along_axis(a, idx, 1), {30, 20, 5, 6});
  expect_close(take_along_axis(a, ints({-1, 0}, {2, 1}), -1), {20, 5});
  // Indices broadcast over the rows of a (and a over extra index rows).
  expect_close(take_along_axis(a, ints({2, 0}, {1, 2}), 1), {20, 10, 6, 5});
  expect_close(take_along_axis(a, ints({1, 0, 1}, {1, 3}), 0), {5, 30, 6});
  expect_close(put_along_axis(a, idx, Array(0.0f), 1), {10, 0, 0, 0, 4, 0});
  expect_close(put_along_axis(a, ints({1, 1}, {1, 2}), iota({2, 2}), 1), {10, 1, 20, 5, 3, 6});
  expect_close(scatter_add_along_axis(a, ints({1, 1}, {1, 2}), iota({2, 2}), 1),
               {10, 31, 20, 5, 9, 6});
  Array keep = put_along_axis(zeros({2, 3}, Dtype::bool_), idx, Array(true), 1);
  EXPECT_EQ(keep.dtype(), Dtype::bool_);
  expect_close(keep, {0, 1, 1, 1, 0, 1});
  // Strided a (a transposed view) along axis 0.
  Array t = transpose(a);  // [3, 2] = {10,5,30,4,20,6}
  expect_close(take_along_axis(t, ints({2, 0}, {1, 2}), 0), {20, 5});
  EXPECT_FALSE(error_of([&] { take_along_axis(a, ints({0}, {1}), 1); }).empty());
}

TEST(Indexing, TrilTriu) {
  Array a = iota({3, 4}) + 1.0;
  expect_close(tril(a), {1, 0, 0, 0, 5, 6, 0, 0, 9, 10, 11, 0});
  expect_close(tril(a, 1), {1, 2, 0, 0, 5, 6, 7, 0, 9, 10, 11, 12});
  expect_close(triu(a), {1, 2, 3, 4, 0, 6, 7, 8, 0, 0, 11, 12});
  expect_close(triu(a, -1), {1, 2, 3, 4, 5, 6, 7, 8, 0, 10, 11, 12});
  Array batch = ones({2, 2, 2}, Dtype::int32);
  Array lower = tril(batch, -1);
  EXPECT_EQ(lower.dtype(), Dtype::int32);
  expect_close(lower, {0, 0, 1, 0, 0, 0, 1, 0});
  EXPECT_FALSE(error_of([] { tril(ones({3})); }).empty());
}

TEST(Indexing, ScatterAddIndependentOfThreadCount) {
  const int saved = cpu::num_threads();
  Array x = lamina::test::random_array({64, 4096}, 5);
  std::vector<int64_t> rows(64);
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<int64_t>(i * 5 % 8);  // repeats
  Array idx = ints(rows, {64});
  auto run = [&](int threads) {
    cpu::set_num_threads(threads);
    return std::make_pair(scatter_add(zeros({8, 4096}), idx, x, 0).to_vector<float>(),
                          take_along_axis(x, ints({4095, 0, 7}, {1, 3}), 1).to_vector<float>());
  };
  auto one = run(1);
  auto many = run(4);
  cpu::set_num_threads(saved);
  EXPECT_EQ(one, many);
}

TEST(Indexing, Vjps) {
  Array x = lamina::test::random_array({3, 4}, 21);
  Array y = lamina::test::random_array({2, 4}, 22);
  Array idx = ints({2, 0, 2, -1}, {2, 2});  // repeats: gradients must add up
  expect_grad_matches_finite_differences([&](const Array& v) { return concatenate({v, y, v * 2.0}, 0); }, x);
  expect_grad_matches_finite_differences([&](const Array& v) { return stack({v, y}, 1); }, y);
  expect_grad_matches_finite_differences([&](const Array& v) { return pad(v, {{1, 2}, {0, 1}}, 3.0); }, x);
  expect_grad_matches_finite_differences([&](const Array& v) { return take(v, idx, 0); }, x);
  expect_grad_matches_finite_differences([&](const Array& v) { return take(v, idx, 1); }, x);
  expect_grad_matches_finite_differences([&](const Array& v) { return take(transpose(v), idx, 1); }, x);
  Array along = ints({3, 3, 0, 1, 2, 2}, {3, 2});
  expect_grad_matches_finite_differences([&](const Array& v) { return take_along_axis(v, along, 1); }, x);
  expect_grad_matches_finite_differences([&](const Array& v) { return tril(v, 1) + triu(v * v, 2); }, x);

  // Scatters: gradients with respect to the destination and the updates.
  Array rows = ints({1, 0, 1}, {3});  // row 1 twice: only the last assignment survives
  Array u = lamina::test::random_array({3, 4}, 23);
  expect_grad_matches_finite_differences([&](const Array& v) { return scatter(v, rows, u, 0); }, x);
  expect_grad_matches_finite_differences([&](const Array& v) { return scatter(x, rows, v, 0); }, u);
  expect_grad_matches_finite_differences([&](const Array& v) { return scatter_add(v, rows, u, 0); }, x);
  expect_grad_matches_finite_differences([&](const Array& v) { return scatter_add(x, rows, v, 0); }, u);
  expect_grad_matches_finite_differences([&](const Array& v) { return scatter(x, rows, v, 0); },
                                         lamina::test::random_array({4}, 24));
  Array put = ints({0, 0, 3, 1, 1, 1}, {3, 2});
  Array vals = lamina::test::random_array({3, 2}, 25);
  expect_grad_matches_finite_differences([&](const Array& v) { return put_along_axis(v, put, vals, 1); }, x);
  expect_grad_matches_finite_differences([&](const Array& v) { return put_along_axis(x, put, v, 1); }, vals);
  expect_grad_matches_finite_differences([&](const Array& v) { return scatter_add_along_axis(v, put, vals, 1); }, x);
  expect_grad_matches_finite_differences([&](const Array& v) { return scatter_add_along_axis(x, put, v, 1); }, vals);
}
