// Reduce and ArgReduce on the GPU against the CPU backend: every dtype the kernels take,
// one and several axes, strided / transposed / broadcast views, short runs (one output
// per invocation) and long ones (one per workgroup), empty axes, NaN, ties. Each case runs
// with subgroup arithmetic (where the device has it) and with shared memory only
// (LAMINA_VULKAN_SUBGROUPS=0). Tolerances: float32 sums 1e-6 per reduced element
// (relative 1e-5), float16 4e-3 and bfloat16 3e-2 relative; max/min/arg and integers exact.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "libcore/ops/ops.h"
#include "tests/vulkan/vulkan_test_util.h"

namespace lamina::test {
namespace {

using namespace lamina::core;

const Dtype kFloats[] = {Dtype::float32, Dtype::float16, Dtype::bfloat16};


double rel_tol(Dtype d) { return d == Dtype::float32 ? 1e-5 : d == Dtype::float16 ? 4e-3 : 3e-2; }

TEST(VulkanReduce, FloatSumProdMaxMin) {
  LAMINA_REQUIRE_VULKAN();
  Array x = random_array({7, 13, 5}, 1);
  Array big = random_array({300, 70}, 2);
  Array wide = random_array({100, 2100}, 3);
  Array row = random_array({3, 5003}, 4);
  Array near_one = random_array({7, 13, 5}, 5, 0.8f, 1.25f);
  using Fn = Array (*)(const Array&, std::vector<int>, bool);
  struct Case {
    Array in;
    std::vector<int> axes;
    int64_t n;
  };
  with_and_without_subgroups([&] {
    for (Dtype d : kFloats) {
      SCOPED_TRACE(dtype_name(d));
      auto c = [&](const Array& a) { return astype(a, d); };
      const Case cases[] = {
          {c(x), {2}, 5},                                         // short runs: per invocation
          {transpose(c(x), {2, 0, 1}), {0, 2}, 65},               // several axes of a view
          {c(x), {}, 455},                                        // everything, one workgroup
          {transpose(c(big)), {1}, 300},                          // long strided runs
          {c(big), {0, 1}, 21000},                                // one output, many elements
          {c(wide), {0}, 100},                                    // many strided outputs
          {c(row), {1}, 5003},                                    // long contiguous rows
          {broadcast_to(c(slice(x, {0, 0, 0}, {1, 13, 5})), {4, 13, 5}), {0, 1}, 52},  // stride 0
          {slice(c(big), {1, 3}, {300, 70}, {3, 4}), {0}, 100},   // stepped slice
      };
      for (const auto& cs : cases) {
        const double atol = d == Dtype::float32 ? 1e-6 * static_cast<double>(cs.n) : 0.0;
        for (Fn f : {static_cast<Fn>(sum), static_cast<Fn>(max), static_cast<Fn>(min)}) {
          expect_gpu_matches_cpu(vk_device, [&] { return f(cs.in, cs.axes, false); }, atol, rel_tol(d));
        }
      }
      expect_gpu_matches_cpu(vk_device, [&] { return sum(c(x), {1}, true); }, 1e-5, rel_tol(d));
      expect_gpu_matches_cpu(vk_device, [&] { return prod(c(near_one), {0, 1}, false); }, 1e-5, 4 * rel_tol(d));
      expect_gpu_matches_cpu(vk_device, [&] { return prod(transpose(c(near_one)), {2}, true); }, 1e-5, 4 * rel_tol(d));
      expect_gpu_matches_cpu(vk_device, [&] { return mean(c(row), {1}, false); }, 1e-6, rel_tol(d));
    }
  });
}

TEST(VulkanReduce, IntegerAndBool) {
  LAMINA_REQUIRE_VULKAN();
  Array x = random_array({9, 31, 4}, 6, -1000.0f, 1000.0f);
  Array xi = astype(x, Dtype::int32);
  Array xu = astype(abs(x), Dtype::uint32);
  Array xb = greater(x, Array(300.0f));
  Array small = astype(random_array({9, 31, 4}, 7, -2.0f, 3.0f), Dtype::int32);
  with_and_without_subgroups([&] {
    for (const Array& a : {xi, xu, xb}) {
      SCOPED_TRACE(dtype_name(a.dtype()));
      for (std::vector<int> axes : {std::vector<int>{1}, {0, 2}, {}, {2}}) {
        expect_gpu_matches_cpu(vk_device, [&] { return sum(a, axes); }, 0, 0);
        expect_gpu_matches_cpu(vk_device, [&] { return max(transpose(a, {1, 2, 0}), axes); }, 0, 0);
        expect_gpu_matches_cpu(vk_device, [&] { return min(a, axes); }, 0, 0);
      }
    }
    expect_gpu_matches_cpu(vk_device, [&] { return prod(small, {2}); }, 0, 0);
    expect_gpu_matches_cpu(vk_device, [&] { return prod(xb, {1}); }, 0, 0);
  });
}

TEST(VulkanReduce, EmptyAxesAndNaN) {
  LAMINA_REQUIRE_VULKAN();
  Array empty = zeros({3, 0, 4});
  std::vector<float> v(2 * 300, 0.5f);
  v[17] = NAN;                    // row 0: NaN inside the run
  v[300 + 299] = NAN;             // row 1: NaN last
  v[300 + 5] = INFINITY;
  Array withnan(v, {2, 300});
  // The same in rows long enough to be split over workgroups: a NaN in a later split than
  // the largest value, a NaN in the last element, and a row without NaN.
  std::vector<float> lv(3 * 20000, 0.25f);
  lv[9000] = 7.0f;
  lv[15001] = NAN;
  lv[20000 + 19999] = NAN;
  lv[20000 + 3] = 9.0f;
  lv[40000 + 12345] = INFINITY;
  Array long_nan(lv, {3, 20000});
  with_and_without_subgroups([&] {
    expect_gpu_matches_cpu(vk_device, [&] { return sum(empty, {1}); }, 0, 0);
    expect_gpu_matches_cpu(vk_device, [&] { return prod(empty, {1}); }, 0, 0);
    for (Dtype d : kFloats) {
      for (int axis : {0, 1}) {
        expect_gpu_matches_cpu(vk_device, [&] { return max(astype(withnan, d), {axis}); }, 0, 0);
        expect_gpu_matches_cpu(vk_device, [&] { return min(astype(withnan, d), {axis}); }, 0, 0);
        expect_gpu_matches_cpu(vk_device, [&] { return sum(astype(withnan, d), {axis}); }, 1e-4, rel_tol(d));
        expect_gpu_matches_cpu(vk_device, [&] { return argmax(astype(withnan, d), axis); }, 0, 0);
        expect_gpu_matches_cpu(vk_device, [&] { return argmin(astype(withnan, d), axis); }, 0, 0);
      }
      for (auto f : {static_cast<Array (*)(const Array&, std::vector<int>, bool)>(max),
                     static_cast<Array (*)(const Array&, std::vector<int>, bool)>(min)}) {
        expect_gpu_matches_cpu(vk_device, [&] { return f(astype(long_nan, d), {1}, false); }, 0, 0);
      }
      expect_gpu_matches_cpu(vk_device, [&] { return argmax(astype(long_nan, d), 1); }, 0, 0);
      expect_gpu_matches_cpu(vk_device, [&] { return argmin(astype(long_nan, d), 1); }, 0, 0);
    }
  });
}

TEST(VulkanReduce, ArgMaxArgMinFirstIndexOnTies) {
  LAMINA_REQUIRE_VULKAN();
  // Values on a coarse grid: many ties, which must resolve to the first index.
  Array x = floor(random_array({6, 1001}, 8, -4.0f, 4.0f));
  Array logits = random_array({1, 32003}, 9, -10.0f, 10.0f);  // the greedy sampler's case
  Array cube = floor(random_array({5, 7, 300}, 10, -3.0f, 3.0f));
  // Long rows of ties: each output is split over many workgroups, whose partials must also
  // resolve to the first index.
  Array long_ties = floor(random_array({2, 40000}, 11, -4.0f, 4.0f));
  with_and_without_subgroups([&] {
    for (Dtype d : {Dtype::float32, Dtype::float16, Dtype::bfloat16, Dtype::int32, Dtype::uint32}) {
      SCOPED_TRACE(dtype_name(d));
      Array xd = astype(d == Dtype::uint32 ? add(x, Array(4.0f)) : x, d);
      Array cd = astype(d == Dtype::uint32 ? add(cube, Array(3.0f)) : cube, d);
      for (int axis : {0, 1}) {
        expect_gpu_matches_cpu(vk_device, [&] { return argmax(xd, axis); }, 0, 0);
        expect_gpu_matches_cpu(vk_device, [&] { return argmin(xd, axis, true); }, 0, 0);
      }
      for (int axis : {0, 1, 2}) {
        expect_gpu_matches_cpu(vk_device, [&] { return argmax(transpose(cd, {2, 0, 1}), axis); }, 0, 0);
        expect_gpu_matches_cpu(vk_device, [&] { return argmin(cd, axis); }, 0, 0);
      }
      expect_gpu_matches_cpu(vk_device, [&] { return argmax(astype(logits, d), -1); }, 0, 0);
      Array ld = astype(d == Dtype::uint32 ? add(long_ties, Array(4.0f)) : long_ties, d);
      expect_gpu_matches_cpu(vk_device, [&] { return argmax(ld, 1); }, 0, 0);
      expect_gpu_matches_cpu(vk_device, [&] { return argmin(ld, 1, true); }, 0, 0);
    }
    Array b = greater(x, Array(2.0f));
    expect_gpu_matches_cpu(vk_device, [&] { return argmax(b, 1); }, 0, 0);
    expect_gpu_matches_cpu(vk_device, [&] { return argmin(b, 0); }, 0, 0);
  });
}

}  // namespace
}  // namespace lamina::test
