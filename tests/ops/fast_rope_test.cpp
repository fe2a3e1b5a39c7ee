// fast::rope in both layouts against a scalar loop: offsets (int, scalar array, per batch),
// partial rotation (dims < head_dim), given freqs, scale, strided and half inputs; its vjp
// against finite differences; its argument checks; and slice_update of a pending rope (the
// KV cache write: one kernel rotates the rows into the cache).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "libcore/ops/ops.h"
#include "libcore/ops/slice_update_primitive.h"
#include "tests/ops/fast_test_util.h"
#include "tests/test_util.h"

using namespace lamina::core;
using lamina::test::expect_arrays_close;
using lamina::test::expect_close;
using lamina::test::expect_vjp_matches_finite_differences;
using lamina::test::random_array;

namespace {

struct RopeCase {
  int dims = 0;
  bool traditional = false;
  double base = 10000.0;
  std::vector<double> freqs;  // used instead of base when not empty
  double scale = 1.0;
  std::vector<int64_t> offsets{0};  // one, or one per x.shape(0)
};

// Rotates x (any shape [..., T, D], row-major values) in double, one pair at a time.
std::vector<double> rope_reference(const Array& x, const RopeCase& c) {
  std::vector<double> v = x.to_vector<double>();
  const Shape& s = x.shape();
  const int64_t d = s.back(), seq = s[s.size() - 2], rows = x.size() / d;
  const int64_t rows_per_batch = rows / s[0];
  const int half = c.dims / 2;
  std::vector<double> out = v;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t offset = c.offsets.size() == 1 ? c.offsets[0] : c.offsets[r / rows_per_batch];
    const double pos = static_cast<double>(offset + r % seq) * c.scale;
    for (int i = 0; i < half; ++i) {
      const double inv = c.freqs.empty() ? std::pow(c.base, -2.0 * i / c.dims) : 1.0 / c.freqs[i];
      const double cs = std::cos(pos * inv), sn = std::sin(pos * inv);
      const int64_t a = c.traditional ? 2 * i : i;
      const int64_t b = c.traditional ? 2 * i + 1 : i + half;
      out[r * d + a] = v[r * d + a] * cs - v[r * d + b] * sn;
      out[r * d + b] = v[r * d + a] * sn + v[r * d + b] * cs;
    }
  }
  return out;
}

std::optional<Array> freqs_of(const RopeCase& c) {
  if (c.freqs.empty()) return std::nullopt;
  return Array(c.freqs, {static_cast<int64_t>(c.freqs.size())});
}

std::optional<float> base_of(const RopeCase& c) {
  if (!c.freqs.empty()) return std::nullopt;
  return static_cast<float>(c.base);
}

Array apply(const Array& x, const RopeCase& c) {
  return fast::rope(x, c.dims, c.traditional, base_of(c), static_cast<float>(c.scale), c.offsets[0],
                    freqs_of(c));
}

}  // namespace

TEST(Rope, HalfSplitLayoutMatchesScalarLoop) {
  Array x = random_array({2, 3, 5, 16}, 1);
  RopeCase c;
  c.dims = 16;
  c.offsets = {7};
  Array y = apply(x, c);
  EXPECT_EQ(y.shape(), x.shape());
  EXPECT_EQ(y.dtype(), Dtype::float32);
  expect_close(y, rope_reference(x, c), 2e-5, 1e-5);
}

TEST(Rope, TraditionalLayoutMatchesScalarLoop) {
  Array x = random_array({1, 4, 6, 8}, 2);
  RopeCase c;
  c.dims = 8;
  c.traditional = true;
  c.base = 500.0;
  c.offsets = {3};
  expect_close(apply(x, c), rope_reference(x, c), 2e-5, 1e-5);
}

TEST(Rope, PartialDimsPassTheRestThrough) {
  Array x = random_array({2, 2, 4, 12}, 3);
  for (bool traditional : {false, true}) {
    RopeCase c;
    c.dims = 6;
    c.traditional = traditional;
    c.offsets = {11};
    Array y = apply(x, c);
    expect_close(y, rope_reference(x, c), 2e-5, 1e-5);
    // Features 6..11 are exactly x's.
    expect_arrays_close(slice_axis(y, -1, 6, 12), slice_axis(x, -1, 6, 12), 0, 0);
  }
}

TEST(Rope, HandComputedPair) {
  // One pair at position 2 with inv_freq 1: rotation by 2 radians.
  Array x(std::vector<float>{1, 0, 0.5f, 2}, {2, 2});  // positions 0 and 1, offset 1
  Array y = fast::rope(x, 2, false, 1.0f, 1.0f, 1);
  expect_close(y,
               {std::cos(1.0), std::sin(1.0), 0.5 * std::cos(2.0) - 2 * std::sin(2.0),
                0.5 * std::sin(2.0) + 2 * std::cos(2.0)},
               1e-6, 1e-6);
}

TEST(Rope, GivenFreqsAndScale) {
  Array x = random_array({1, 2, 5, 8}, 4);
  RopeCase c;
  c.dims = 8;
  c.freqs = {1.0, 3.5, 20.0, 400.0};
  c.scale = 0.25;
  c.offsets = {2};
  expect_close(apply(x, c), rope_reference(x, c), 2e-5, 1e-5);
  // freqs equal to base^(2i/dims) reproduce the base schedule.
  RopeCase b;
  b.dims = 8;
  b.base = 10000.0;
  b.scale = 0.25;
  b.offsets = {2};
  RopeCase f = b;
  for (int i = 0; i < 4; ++i) f.freqs.push_back(std::pow(10000.0, 2.0 * i / 8));
  expect_arrays_close(apply(x, f), apply(x, b), 1e-5, 1e-5);
}

TEST(Rope, OffsetArrays) {
  Array x = random_array({3, 2, 4, 8}, 5);
  RopeCase c;
  c.dims = 8;
  c.offsets = {5};
  Array scalar_offset = fast::rope(x, 8, false, 10000.0f, 1.0f, Array(5));
  expect_close(scalar_offset, rope_reference(x, c), 2e-5, 1e-5);
  c.offsets = {0, 9, 100};
  Array per_batch =
      fast::rope(x, 8, false, 10000.0f, 1.0f, Array(std::vector<int32_t>{0, 9, 100}, {3}));
  expect_close(per_batch, rope_reference(x, c), 2e-5, 1e-5);
}

TEST(Rope, TwoDimensionalAndStridedInputs) {
  RopeCase c;
  c.dims = 8;
  c.offsets = {4};
  Array x2 = random_array({6, 8}, 6);
  expect_close(apply(x2, c), rope_reference(x2, c), 2e-5, 1e-5);
  // [B, L, H, D] viewed as [B, H, L, D], as attention layers produce it.
  Array blhd = random_array({2, 5, 3, 8}, 7);
  Array x = transpose(blhd, {0, 2, 1, 3});
  Array y = apply(x, c);
  EXPECT_EQ(y.shape(), (Shape{2, 3, 5, 8}));
  expect_close(y, rope_reference(contiguous(x), c), 2e-5, 1e-5);
}

TEST(Rope, LongPositionsStayAccurate) {
  // Positions in the thousands: the angle is formed in float32 as transformers does, so the
  // error against the double reference is a few float32 ulps of the angle.
  Array x = random_array({1, 1, 3, 64}, 8);
  RopeCase c;
  c.dims = 64;
  c.offsets = {4000};
  expect_close(apply(x, c), rope_reference(x, c), 2e-3, 0);
}

TEST(Rope, HalfTypes) {
  Array x32 = random_array({1, 2, 6, 32}, 9);
  RopeCase c;
  c.dims = 24;
  c.offsets = {13};
  for (Dtype t : {Dtype::float16, Dtype::bfloat16}) {
    Array x = astype(x32, t);
    Array y = apply(x, c);
    EXPECT_EQ(y.dtype(), t);
    const double tol = t == Dtype::float16 ? 1e-3 : 8e-3;
    expect_close(astype(y, Dtype::float32), rope_reference(astype(x, Dtype::float32), c), tol, tol);
  }
}

TEST(Rope, Vjp) {
  Array x = random_array({2, 2, 3, 6}, 10);
  for (bool traditional : {false, true}) {
    SCOPED_TRACE(traditional ? "traditional" : "half split");
    expect_vjp_matches_finite_differences(
        [traditional](const std::vector<Array>& p) {
          return fast::rope(p[0], 4, traditional, 100.0f, 0.5f, 3);
        },
        {x}, {0});
  }
  Array freqs(std::vector<float>{2.0f, 7.0f}, {2});
  expect_vjp_matches_finite_differences(
      [&](const std::vector<Array>& p) {
        return fast::rope(p[0], 4, false, std::nullopt, 1.0f, Array(std::vector<int>{1, 5}, {2}),
                          freqs);
      },
      {x}, {0});
}

TEST(Rope, VjpIsTheInverseRotation) {
  Array x = random_array({1, 3, 4, 16}, 11);
  auto f = [](const std::vector<Array>& p) {
    return std::vector<Array>{fast::rope(p[0], 16, true, 10000.0f, 1.0f, 20)};
  };
  Array y = f({x})[0];
  // Rotations are orthogonal: the vjp of y is x.
  auto [out, grads] = vjp(f, {x}, {y});
  expect_arrays_close(grads[0], x, 1e-5, 1e-5);
}

TEST(Rope, RejectsBadArguments) {
  Array x = random_array({1, 2, 3, 8}, 12);
  EXPECT_THROW(fast::rope(x, 5, false, 10000.0f, 1.0f, 0), lamina::Error);   // odd dims
  EXPECT_THROW(fast::rope(x, 10, false, 10000.0f, 1.0f, 0), lamina::Error);  // dims > D
  EXPECT_THROW(fast::rope(x, 0, false, 10000.0f, 1.0f, 0), lamina::Error);
  EXPECT_THROW(fast::rope(x, 8, false, std::nullopt, 1.0f, 0), lamina::Error);  // no base/freqs
  Array freqs = random_array({4}, 1);
  EXPECT_THROW(fast::rope(x, 8, false, 10000.0f, 1.0f, 0, freqs), lamina::Error);  // both
  EXPECT_THROW(fast::rope(x, 8, false, std::nullopt, 1.0f, 0, random_array({3}, 1)), lamina::Error);
  EXPECT_THROW(fast::rope(x, 8, false, 10000.0f, 1.0f, Array(1.5f)), lamina::Error);
  EXPECT_THROW(fast::rope(x, 8, false, 10000.0f, 1.0f, Array(std::vector<int>{1, 2}, {2})),
               lamina::Error);  // two offsets for one batch entry
  EXPECT_THROW(fast::rope(random_array({8}, 1), 8, false, 10000.0f, 1.0f, 0), lamina::Error);
}

// slice_update(cache, rope(k)) with the rope not yet evaluated: one SliceUpdate that rotates
// k's rows into the region, bit for bit what writing the evaluated rope gives.
TEST(Rope, SliceUpdateOfAPendingRopeWritesTheRotatedRows) {
  Array cache = random_array({2, 4, 16, 12}, 20);
  // k as a model has it: heads moved in front of the positions (a strided view).
  Array k = transpose(random_array({2, 3, 4, 12}, 21), {0, 2, 1, 3});
  Array freqs = random_array({4}, 22, 1.0f, 100.0f);
  Array offsets(std::vector<int>{5, 9}, {2});
  const Shape start{0, 0, 5, 0}, stop{2, 4, 8, 12};
  for (Dtype t : {Dtype::float32, Dtype::float16, Dtype::bfloat16}) {
    Array tc = astype(cache, t), tk = astype(k, t);
    const std::vector<std::function<Array()>> ropes = {
        [&] { return fast::rope(tk, 12, false, 10000.0f, 1.0f, 5); },
        [&] { return fast::rope(tk, 8, true, 10000.0f, 0.5f, 7); },  // partial dims
        [&] { return fast::rope(tk, 8, false, std::nullopt, 1.0f, 3, freqs); },
        [&] { return fast::rope(tk, 12, false, 10000.0f, 1.0f, offsets); },  // per batch
    };
    for (size_t i = 0; i < ropes.size(); ++i) {
      SCOPED_TRACE(std::string(dtype_name(t)) + " rope " + std::to_string(i));
      Array fused = slice_update(tc, ropes[i](), start, stop);
      const auto* p = dynamic_cast<const SliceUpdate*>(fused.primitive().get());
      ASSERT_NE(p, nullptr);
      EXPECT_NE(p->rope(), nullptr);
      EXPECT_EQ(fused.inputs()[1].id(), tk.id());  // reads k itself
      Array rotated = ropes[i]();
      rotated.eval();
      Array expected = slice_update(tc, rotated, start, stop);
      EXPECT_EQ(dynamic_cast<const SliceUpdate*>(expected.primitive().get())->rope(), nullptr);
      expect_arrays_close(fused, expected, 0, 0);
    }
  }
  // Against the double-precision loop (float32): the region holds k's rotated rows, the
  // rest of the cache is untouched.
  const std::vector<RopeCase> cases = {
      {12, false, 10000.0, {}, 1.0, {5}},
      {8, true, 10000.0, {}, 0.5, {7}},
      {8, false, 0.0, freqs.to_vector<double>(), 1.0, {3}},
      {12, false, 10000.0, {}, 1.0, {5, 9}},
  };
  for (const RopeCase& c : cases) {
    SCOPED_TRACE("dims " + std::to_string(c.dims) + (c.traditional ? " traditional" : ""));
    Array rotated_k = c.offsets.size() == 1 ? apply(k, c)
                                             : fast::rope(k, c.dims, c.traditional, base_of(c),
                                                          static_cast<float>(c.scale), offsets, freqs_of(c));
    Array fused = slice_update(cache, rotated_k, start, stop);
    ASSERT_NE(dynamic_cast<const SliceUpdate*>(fused.primitive().get())->rope(), nullptr);
    std::vector<double> want = cache.to_vector<double>();
    const std::vector<double> rows = rope_reference(k, c);  // [2, 4, 3, 12]
    for (int64_t b = 0; b < 2; ++b) {
      for (int64_t h = 0; h < 4; ++h) {
        for (int64_t t = 0; t < 3; ++t) {
          for (int64_t d = 0; d < 12; ++d) {
            want[((b * 4 + h) * 16 + 5 + t) * 12 + d] = rows[((b * 4 + h) * 3 + t) * 12 + d];
          }
        }
      }
    }
    expect_close(fused, want, 2e-5, 1e-5);
  }
  // A cast between the rope and the cache keeps the two steps.
  Array cast = slice_update(cache, fast::rope(astype(k, Dtype::float16), 12, false, 10000.0f, 1.0f, 5), start, stop);
  EXPECT_EQ(dynamic_cast<const SliceUpdate*>(cast.primitive().get())->rope(), nullptr);
  // Gradients: the cache's outside the region, the inverse rotation of the region's for k.
  expect_vjp_matches_finite_differences(
      [&](const std::vector<Array>& p) {
        return slice_update(p[0], fast::rope(p[1], 8, false, std::nullopt, 1.0f, 2, freqs), start, stop);
      },
      {random_array({2, 4, 16, 12}, 23), random_array({2, 4, 3, 12}, 24)}, {0, 1});
  expect_vjp_matches_finite_differences(
      [&](const std::vector<Array>& p) {
        return slice_update(p[0], fast::rope(p[1], 8, true, 10000.0f, 1.0f, offsets), start, stop);
      },
      {random_array({2, 4, 16, 12}, 25), random_array({2, 4, 3, 12}, 26)}, {1, 0});
}
