// Views share buffers and index correctly; reshape copies only when it must.
#include <gtest/gtest.h>

#include "libcore/ops/ops.h"
#include "tests/test_util.h"

using namespace lamina::core;
using lamina::test::expect_close;

TEST(Views, ReshapeOfContiguousIsAView) {
  Array a = reshape(arange(0, 6, 1, Dtype::float32), {2, 3});
  a.eval();
  Array b = reshape(a, {3, 2});
  b.eval();
  EXPECT_EQ(a.buffer(), b.buffer());
  expect_close(b, {0, 1, 2, 3, 4, 5});
  EXPECT_EQ(reshape(a, {-1}).shape(), (Shape{6}));
  EXPECT_THROW(reshape(a, {4, -1}), lamina::Error);
  EXPECT_THROW(reshape(a, {-1, -1}), lamina::Error);
}

TEST(Views, ReshapeOfTransposedCopiesWhenNeeded) {
  Array a = reshape(arange(0, 6, 1, Dtype::float32), {2, 3});
  a.eval();
  Array t = transpose(a);  // [3, 2] non-contiguous
  Array flat = reshape(t, {6});
  flat.eval();
  EXPECT_NE(flat.buffer(), a.buffer());
  expect_close(flat, {0, 3, 1, 4, 2, 5});
  // Splitting a dim of a transposed view is still a view.
  Array b = reshape(arange(0, 24, 1, Dtype::float32), {4, 6});
  b.eval();
  Array split = reshape(transpose(b), {2, 3, 4});
  split.eval();
  EXPECT_EQ(split.buffer(), b.buffer());
  expect_close(split + 0.0, transpose(b).to_vector<double>());
}

TEST(Views, SliceWithStepsAndNegativeBounds) {
  Array a = arange(0, 10, 1, Dtype::int32);
  expect_close(slice(a, {1}, {9}, {3}), {1, 4, 7});
  expect_close(slice(a, {-3}, {10}), {7, 8, 9});
  expect_close(slice(a, {5}, {2}), {});
  Array m = reshape(arange(0, 12, 1, Dtype::float32), {3, 4});
  expect_close(slice_axis(m, 1, 1, 3), {1, 2, 5, 6, 9, 10});
  EXPECT_THROW(slice(a, {0}, {5}, {-1}), lamina::Error);
}

TEST(Views, BroadcastExpandSqueezeFlatten) {
  Array a(std::vector<float>{1, 2, 3}, {3});
  Array b = broadcast_to(a, {2, 3});
  b.eval();
  EXPECT_EQ(b.strides(), (Strides{0, 1}));
  expect_close(b, {1, 2, 3, 1, 2, 3});
  EXPECT_THROW(broadcast_to(a, {2, 4}), lamina::Error);
  EXPECT_EQ(expand_dims(a, 0).shape(), (Shape{1, 3}));
  EXPECT_EQ(expand_dims(a, -1).shape(), (Shape{3, 1}));
  EXPECT_EQ(squeeze(expand_dims(a, {0, 2})).shape(), (Shape{3}));
  EXPECT_THROW(squeeze(a, {0}), lamina::Error);
  EXPECT_EQ(flatten(ones({2, 3, 4}), 1).shape(), (Shape{2, 12}));
  EXPECT_EQ(swapaxes(ones({2, 3, 4}), 0, 2).shape(), (Shape{4, 3, 2}));
  EXPECT_EQ(moveaxis(ones({2, 3, 4}), 0, -1).shape(), (Shape{3, 4, 2}));
}

TEST(Views, AsTypeConvertsEveryPair) {
  std::vector<float> vals = {0, 1, 2, 100};
  for (int i = 0; i < kNumDtypes; ++i) {
    for (int j = 0; j < kNumDtypes; ++j) {
      Dtype from = Dtype(i), to = Dtype(j);
      Array a(vals, {4}, from);
      Array b = astype(a, to);
      EXPECT_EQ(b.dtype(), to);
      std::vector<double> expected;
      for (float v : vals) expected.push_back(to == Dtype::bool_ || from == Dtype::bool_ ? (v != 0) : v);
      expect_close(b, expected);
    }
  }
  // float -> int truncates toward zero; bfloat16 rounds to nearest even.
  expect_close(astype(Array(std::vector<float>{-1.7f, 2.9f}, {2}), Dtype::int32), {-1, 2});
  expect_close(astype(Array(1.00390625f), Dtype::bfloat16), {1.0});
}

TEST(Views, SliceUpdateWritesRegionAndKeepsInputsIntact) {
  Array dst = zeros({3, 4}, Dtype::float32);
  Array upd(std::vector<float>{1, 2, 3, 4}, {2, 2});
  Array out = slice_update(dst, upd, {1, 0}, {3, 4}, {1, 2});
  expect_close(out, {0, 0, 0, 0, 1, 0, 2, 0, 3, 0, 4, 0});
  expect_close(dst, std::vector<double>(12, 0.0));
  // Broadcast update, dtype cast.
  Array out2 = slice_update(zeros({2, 3}, Dtype::bfloat16), Array(7), {0, 1}, {2, 2});
  EXPECT_EQ(out2.dtype(), Dtype::bfloat16);
  expect_close(out2, {0, 7, 0, 0, 7, 0});
}

TEST(Views, ScalarsAndItem) {
  Array s(3.5f);
  EXPECT_EQ(s.ndim(), 0);
  EXPECT_EQ(s.size(), 1);
  EXPECT_FLOAT_EQ(s.item<float>(), 3.5f);
  EXPECT_EQ(Array(7, Dtype::int64).item<int64_t>(), 7);
  EXPECT_THROW(ones({2}).item<float>(), lamina::Error);
}
