// The sampler's primitives on the GPU against the CPU backend: Sort, ArgSort, ArgPartition,
// CumSum, GatherAlongAxis, ScatterAlongAxis, Scatter, Arange, RandomBits and RandomUnit, on
// odd shapes (rows of 1, 1000, 32000 and 151936), strided / transposed / broadcast views,
// ties, NaN, infinities and signed zeros, every axis; then the whole sampler and
// `lamina generate --device vulkan` with sampling flags against the CPU.
// Tolerances: everything is exact (sorts, positions, random words and floats, gathers,
// scatters in the CPU's order, integer sums) except float cumsum: the GPU accumulates in
// double-float (~48 bits) in another order than the CPU's double loop, so a result may
// land on the neighbouring value: 2 ulp relative (float32 2.4e-7, float16 2e-3, bfloat16
// 1.6e-2) plus 1e-6 absolute for sums that cancel to near zero.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <random>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "libcore/generate/sampler.h"
#include "libcore/ops/creation.h"
#include "libcore/ops/indexing.h"
#include "libcore/ops/ops.h"
#include "libcore/ops/random.h"
#include "libcore/ops/sort.h"
#include "tests/vulkan/vulkan_test_util.h"

namespace lamina::test {
namespace {

using namespace lamina::core;

const Dtype kAll[] = {Dtype::float32, Dtype::float16, Dtype::bfloat16, Dtype::int32, Dtype::uint32, Dtype::bool_};

// float32 values of `shape` with many ties (a few dozen levels), and every `special`-th
// element replaced in turn by NaN, +inf, -inf, -0 or +0 (0: none).
Array awkward_values(const Shape& shape, uint32_t seed, int special = 0) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> level(-40, 40);
  std::vector<float> v(static_cast<size_t>(shape_size(shape)));
  const float specials[] = {std::numeric_limits<float>::quiet_NaN(), INFINITY, -INFINITY, -0.0f, 0.0f};
  for (size_t i = 0; i < v.size(); ++i) {
    v[i] = static_cast<float>(level(gen)) * 0.125f;
    if (special > 0 && i % static_cast<size_t>(special) == 0) v[i] = specials[(i / special) % 5];
  }
  return Array(v, shape);
}

// `values` in dtype: floats as they are, integers scaled (uint32 from the magnitudes),
// bool from the sign.
Array as_dtype(const Array& values, Dtype d) {
  if (d == Dtype::bool_) return greater(values, Array(0.0f));
  if (d == Dtype::int32) return astype(values * 8.0, d);
  if (d == Dtype::uint32) return astype(abs(values) * 8.0, d);
  return astype(values, d);
}

// The views a row primitive is tried on: the array, transposed, a stepped slice.
std::vector<Array> views_of(const Array& a) {
  std::vector<Array> views{a};
  if (a.ndim() >= 2) {
    views.push_back(transpose(a));
    Shape start(a.ndim(), 0), stop = a.shape(), step(a.ndim(), 1);
    step[0] = 2;
    if (a.shape(0) > 2) views.push_back(slice(a, start, stop, step));
  }
  return views;
}

// Integers in [lo, hi) of `shape` as dtype (indices, with duplicates).
Array random_ints(const Shape& shape, uint32_t seed, int64_t lo, int64_t hi, Dtype dtype = Dtype::int32) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int64_t> dist(lo, hi - 1);
  std::vector<int32_t> v(static_cast<size_t>(shape_size(shape)));
  for (auto& x : v) x = static_cast<int32_t>(dist(gen));
  return astype(Array(v, shape), dtype);
}

// a's values in a non-contiguous view of the same shape (a transposed copy, transposed back).
Array strided_view(const Array& a) {
  Array t = copy(transpose(a));
  t.eval();
  return transpose(t);
}

TEST(VulkanSampler, SortAndArgSortEveryDtypeAxisAndView) {
  LAMINA_REQUIRE_VULKAN();
  const Shape shapes[] = {{1}, {1, 1}, {7, 13}, {3, 5, 9}, {2, 1000}, {3, 4097}};
  uint32_t seed = 10;
  for (Dtype d : kAll) {
    SCOPED_TRACE(dtype_name(d));
    for (const Shape& shape : shapes) {
      Array base = as_dtype(awkward_values(shape, seed++, d == Dtype::float32 ? 7 : 0), d);
      base.eval();
      for (const Array& view : views_of(base)) {
        for (int axis = 0; axis < view.ndim(); ++axis) {
          SCOPED_TRACE(shape_string(view.shape()) + " axis " + std::to_string(axis));
          expect_gpu_matches_cpu(vk_device, [&] { return argsort(view, axis); }, 0, 0);
          expect_gpu_matches_cpu(vk_device, [&] { return sort(view, axis); }, 0, 0);
        }
      }
    }
  }
}

TEST(VulkanSampler, SortVocabularyRows) {
  LAMINA_REQUIRE_VULKAN();
  // 32000 and 151936 pad to 2^15 and 2^18: several rounds of global merge steps.
  Array logits = random_array({2, 32000}, 20, -30.0f, 30.0f);
  Array qwen = random_array({1, 151936}, 21, -30.0f, 30.0f);
  Array tied = awkward_values({1, 151936}, 22, 101);  // ties, NaN, infinities, zeros
  for (const Array& a : {logits, qwen, tied}) {
    SCOPED_TRACE(shape_string(a.shape()));
    expect_gpu_matches_cpu(vk_device, [&] { return argsort(a, -1); }, 0, 0);
    expect_gpu_matches_cpu(vk_device, [&] { return sort(a, -1); }, 0, 0);
  }
  expect_gpu_matches_cpu(vk_device, [&] { return argsort(astype(qwen, Dtype::bfloat16), -1); }, 0, 0);
  expect_gpu_matches_cpu(vk_device, [&] { return argsort(transpose(logits), 0); }, 0, 0);
}

// ArgPartition's order around kth is the CPU's nth_element's own; both must put the same
// position at kth and the same set before it (the k smallest by value, then position).
void expect_same_partition(int device, const Array& a, int kth, int axis) {
  auto build = [&] { return argpartition(a, kth, axis); };
  Array ref = run_on(Device::cpu(), build);
  uint64_t fallbacks = vulkan::fallback_count();
  Array got = run_on(Device::vulkan(device), build);
  EXPECT_EQ(vulkan::fallback_count(), fallbacks) << "ran on the CPU fallback";
  ASSERT_EQ(got.shape(), ref.shape());
  const int ax = axis < 0 ? axis + a.ndim() : axis;
  const int64_t n = a.shape(ax);
  const int64_t k = kth < 0 ? kth + n : kth;
  // Lanes of the row-major outputs: [outer, n, inner].
  int64_t inner = 1;
  for (int d = ax + 1; d < a.ndim(); ++d) inner *= a.shape(d);
  const int64_t outer = a.size() / (n * inner);
  auto g = got.to_vector<int64_t>(), r = ref.to_vector<int64_t>();
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      auto at = [&](const std::vector<int64_t>& v, int64_t j) { return v[(o * n + j) * inner + i]; };
      std::set<int64_t> before_got, before_ref, all;
      for (int64_t j = 0; j < k; ++j) {
        before_got.insert(at(g, j));
        before_ref.insert(at(r, j));
      }
      for (int64_t j = 0; j < n; ++j) all.insert(at(g, j));
      EXPECT_EQ(at(g, k), at(r, k)) << "lane " << o << ", " << i;
      EXPECT_EQ(before_got, before_ref) << "lane " << o << ", " << i;
      EXPECT_EQ(static_cast<int64_t>(all.size()), n) << "not a permutation";
    }
  }
}

TEST(VulkanSampler, ArgPartitionAndTopK) {
  LAMINA_REQUIRE_VULKAN();
  Array small = awkward_values({5, 7, 11}, 30, 6);
  Array vocab = random_array({1, 32000}, 31, -20.0f, 20.0f);
  Array qwen = awkward_values({1, 151936}, 32, 997);
  for (int axis = 0; axis < 3; ++axis) expect_same_partition(vk_device, small, 2, axis);
  expect_same_partition(vk_device, transpose(small), -1, 1);
  expect_same_partition(vk_device, astype(small, Dtype::int32), 3, 2);
  expect_same_partition(vk_device, vocab, 32000 - 40, -1);
  expect_same_partition(vk_device, qwen, 151936 - 40, -1);
  // topk: argpartition, take_along_axis, sort and an int32 arange + take, all on the GPU.
  expect_gpu_matches_cpu(vk_device, [&] { return topk(vocab, 40, -1); }, 0, 0);
  expect_gpu_matches_cpu(vk_device, [&] { return topk(qwen, 40, -1); }, 0, 0);
  expect_gpu_matches_cpu(vk_device, [&] { return topk(small, 3, 1); }, 0, 0);
}

TEST(VulkanSampler, CumSum) {
  LAMINA_REQUIRE_VULKAN();
  const Shape shapes[] = {{1}, {1, 1}, {7, 13}, {3, 70, 9}, {2, 1000}, {1, 32000}, {1, 151936}};
  uint32_t seed = 40;
  for (Dtype d : kAll) {
    SCOPED_TRACE(dtype_name(d));
    const bool is_float = d == Dtype::float32 || d == Dtype::float16 || d == Dtype::bfloat16;
    const double rtol = d == Dtype::float32 ? 2.4e-7 : d == Dtype::float16 ? 2e-3 : d == Dtype::bfloat16 ? 1.6e-2 : 0;
    const double atol = is_float ? 1e-6 : 0;
    for (const Shape& shape : shapes) {
      Array base = as_dtype(random_array(shape, seed++), d);
      base.eval();
      std::vector<Array> views = views_of(base);
      if (shape_size(shape) > 100000) views.resize(1);
      for (const Array& view : views) {
        for (int axis = 0; axis < view.ndim(); ++axis) {
          for (int flags = 0; flags < 4; ++flags) {
            const bool reverse = flags & 1, inclusive = !(flags & 2);
            SCOPED_TRACE(shape_string(view.shape()) + " axis " + std::to_string(axis) + (reverse ? " reverse" : "") +
                         (inclusive ? "" : " exclusive"));
            expect_gpu_matches_cpu(vk_device, [&] { return cumsum(view, axis, reverse, inclusive); }, atol, rtol);
          }
        }
      }
    }
  }
  // top-p's use: sorted probabilities of a softmax over a vocabulary, summing to 1.
  Array logits = random_array({1, 151936}, 50, -15.0f, 15.0f);
  Array probs = exp(sort(logits - logsumexp(logits, {-1}, true), -1));
  probs.eval();
  expect_gpu_matches_cpu(vk_device, [&] { return cumsum(probs, -1); }, 1e-7, 2.4e-7);
  // NaN and infinities propagate as in the CPU's double sums.
  Array specials = awkward_values({4, 50}, 51, 9);
  expect_gpu_matches_cpu(vk_device, [&] { return cumsum(specials, 1); }, 1e-6, 2.4e-7);
  expect_gpu_matches_cpu(vk_device, [&] { return cumsum(specials, 0, true); }, 1e-6, 2.4e-7);
}

TEST(VulkanSampler, RandomBitsAndUnit) {
  LAMINA_REQUIRE_VULKAN();
  // A key that is a strided view (a column of a transposed array) besides plain keys.
  Array table(std::vector<uint32_t>{11, 22, 33, 0xdeadbeefu, 0x12345678u, 7}, {2, 3}, Dtype::uint32);
  table.eval();
  const Array keys[] = {random::key(0), random::key(3), random::key(0xfedcba9876543210ull),
                        reshape(slice(table, {0, 1}, {2, 2}), {2})};
  const Shape shapes[] = {{1}, {3}, {1001}, {2, 3, 5}, {151936}};
  for (const Array& key : keys) {
    for (const Shape& shape : shapes) {
      SCOPED_TRACE(shape_string(shape));
      expect_gpu_matches_cpu(vk_device, [&] { return random::random_bits(key, shape); }, 0, 0);
      expect_gpu_matches_cpu(vk_device, [&] { return random::uniform(key, shape); }, 0, 0);
    }
  }
  // Split keys (slices of random bits) feeding further draws, as the sampler does.
  expect_gpu_matches_cpu(vk_device, [&] {
    auto k = random::split(random::key(3), 2);
    auto k2 = random::split(k[0], 3);
    return random::random_bits(k2[2], {4097});
  }, 0, 0);
}

TEST(VulkanSampler, Arange) {
  LAMINA_REQUIRE_VULKAN();
  struct Case {
    double start, stop, step;
    Dtype dtype;
  };
  const Case cases[] = {
      {0, 1, 1, Dtype::float32},         {0, 1000, 1, Dtype::float32},      {5, -7, -3, Dtype::int32},
      {0, 151936, 1, Dtype::uint32},     {-3, 20000, 7, Dtype::float16},    {-3000, 5000, 3, Dtype::bfloat16},
      {39, -1, -1, Dtype::int32},        {4294967295.0, 4294967000.0, -17, Dtype::uint32},
      {-2147483648.0, 2147483647.0, 65536, Dtype::int32}, {16777215, 16777200, -1, Dtype::float32},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::to_string(c.start) + " " + std::to_string(c.step) + " " + dtype_name(c.dtype));
    expect_gpu_matches_cpu(vk_device, [&] { return arange(c.start, c.stop, c.step, c.dtype); }, 0, 0);
  }
  // Fractional steps round in double on the CPU: they stay on the CPU fallback.
  expect_gpu_matches_cpu(vk_device, [&] { return arange(0.5, 10.0, 0.1, Dtype::float32); }, 0, 0, false);
}

TEST(VulkanSampler, GatherAlongAxis) {
  LAMINA_REQUIRE_VULKAN();
  uint32_t seed = 60;
  for (Dtype d : kAll) {
    SCOPED_TRACE(dtype_name(d));
    Array a = as_dtype(random_array({6, 9, 5}, seed++, -4.0f, 4.0f), d);
    a.eval();
    for (const Array& view : views_of(a)) {
      for (int axis = 0; axis < 3; ++axis) {
        const int64_t n = view.shape(axis);
        Shape idx_shape = view.shape();
        idx_shape[axis] = 7;
        Array idx = random_ints(idx_shape, seed++, -n, n);  // negative ones wrap
        Array uidx = random_ints(idx_shape, seed++, 0, n, Dtype::uint32);
        SCOPED_TRACE(shape_string(view.shape()) + " axis " + std::to_string(axis));
        expect_gpu_matches_cpu(vk_device, [&] { return take_along_axis(view, idx, axis); }, 0, 0);
        expect_gpu_matches_cpu(vk_device, [&] { return take_along_axis(view, uidx, axis); }, 0, 0);
        Array strided_idx = strided_view(idx);
        expect_gpu_matches_cpu(vk_device, [&] { return take_along_axis(view, strided_idx, axis); }, 0, 0);
      }
    }
  }
  // Indices broadcast across rows (stride 0), and a whole vocabulary permuted.
  Array logits = random_array({3, 32000}, 70);
  Array ids = random_ints({1, 20}, 71, 0, 32000);
  expect_gpu_matches_cpu(vk_device, [&] { return take_along_axis(logits, broadcast_to(ids, {3, 20}), 1); }, 0, 0);
  Array qwen = random_array({1, 151936}, 72);
  expect_gpu_matches_cpu(vk_device, [&] { return take_along_axis(qwen, argsort(qwen, -1), -1); }, 0, 0);
}

TEST(VulkanSampler, ScatterAlongAxis) {
  LAMINA_REQUIRE_VULKAN();
  uint32_t seed = 80;
  for (Dtype d : kAll) {
    SCOPED_TRACE(dtype_name(d));
    Array a = as_dtype(random_array({6, 40, 5}, seed++, -4.0f, 4.0f), d);
    a.eval();
    for (const Array& view : views_of(a)) {
      for (int axis = 0; axis < 3; ++axis) {
        const int64_t n = view.shape(axis);
        // 3 updates per column (in order, one invocation per column), and 60 (in
        // parallel, the last duplicate found by atomics); indices repeat.
        for (int64_t m : {int64_t{3}, int64_t{60}}) {
          Shape idx_shape = view.shape();
          idx_shape[axis] = m;
          Array idx = random_ints(idx_shape, seed++, -n, n);
          Array values = as_dtype(random_array(idx_shape, seed++, -4.0f, 4.0f), d);
          SCOPED_TRACE(shape_string(view.shape()) + " axis " + std::to_string(axis) + " m " + std::to_string(m));
          expect_gpu_matches_cpu(vk_device, [&] { return put_along_axis(view, idx, values, axis); }, 0, 0);
          Array strided_idx = strided_view(idx), strided_values = strided_view(values);
          expect_gpu_matches_cpu(vk_device, [&] { return put_along_axis(view, strided_idx, strided_values, axis); }, 0, 0);
          if (d != Dtype::bool_) {
            // Sums in the CPU's order, half types rounded at each step: exact too.
            expect_gpu_matches_cpu(vk_device, [&] { return scatter_add_along_axis(view, idx, values, axis); }, 0, 0);
          }
        }
      }
    }
  }
  // The sampler's uses: a repetition penalty (indices broadcast over the batch) and
  // top-p's mask put back through a vocabulary permutation.
  Array logits = random_array({2, 32000}, 90);
  Array ids = broadcast_to(random_ints({1, 20}, 91, 0, 32000), {2, 20});
  expect_gpu_matches_cpu(vk_device, [&] { return put_along_axis(logits, ids, take_along_axis(logits, ids, 1) * 2.0, 1); }, 0, 0);
  Array qwen = random_array({1, 151936}, 92);
  expect_gpu_matches_cpu(vk_device, [&] {
    Array order = argsort(qwen, -1);
    Array keep = greater(take_along_axis(qwen, order, -1), Array(0.5f));
    return put_along_axis(zeros(qwen.shape(), Dtype::bool_), order, keep, -1);
  }, 0, 0);
}

TEST(VulkanSampler, Scatter) {
  LAMINA_REQUIRE_VULKAN();
  uint32_t seed = 100;
  for (Dtype d : kAll) {
    SCOPED_TRACE(dtype_name(d));
    Array a = as_dtype(random_array({5, 50, 3}, seed++, -4.0f, 4.0f), d);
    a.eval();
    for (const Array& view : views_of(a)) {
      for (int axis = 0; axis < 3; ++axis) {
        const int64_t n = view.shape(axis);
        for (const Shape& idx_shape : {Shape{2}, Shape{6, 7}}) {  // 2 and 42 rows per column
          Array idx = random_ints(idx_shape, seed++, -n, n);
          Shape upd_shape(view.shape().begin(), view.shape().begin() + axis);
          upd_shape.insert(upd_shape.end(), idx_shape.begin(), idx_shape.end());
          upd_shape.insert(upd_shape.end(), view.shape().begin() + axis + 1, view.shape().end());
          Array upd = as_dtype(random_array(upd_shape, seed++, -4.0f, 4.0f), d);
          SCOPED_TRACE(shape_string(view.shape()) + " axis " + std::to_string(axis) + " idx " + shape_string(idx_shape));
          expect_gpu_matches_cpu(vk_device, [&] { return scatter(view, idx, upd, axis); }, 0, 0);
          Array strided_idx = strided_view(idx), strided_upd = strided_view(upd);
          expect_gpu_matches_cpu(vk_device, [&] { return scatter(view, strided_idx, strided_upd, axis); }, 0, 0);
          if (d != Dtype::bool_) {
            expect_gpu_matches_cpu(vk_device, [&] { return scatter_add(view, idx, upd, axis); }, 0, 0);
          }
        }
      }
    }
  }
}

// Logits [1, vocab]: uniform noise in [-8, 8) plus a dozen peaks of different heights, so
// that top-k and top-p keep a few tokens and the draw varies (on flat logits top-k leaves
// so little mass that top-p masks everything and every draw is token 0).
Array peaked_logits(int64_t vocab, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> noise(-8.0f, 8.0f);
  std::uniform_int_distribution<int64_t> position(0, vocab - 1);
  std::vector<float> v(static_cast<size_t>(vocab));
  for (auto& x : v) x = noise(gen);
  for (int i = 0; i < 12; ++i) v[static_cast<size_t>(position(gen))] = 16.0f + 0.4f * static_cast<float>(i);
  return Array(v, {1, vocab});
}

TEST(VulkanSampler, SamplerFilters) {
  LAMINA_REQUIRE_VULKAN();
  for (int64_t vocab : {int64_t{1000}, int64_t{32000}, int64_t{151936}}) {
    SCOPED_TRACE(vocab);
    Array logits = peaked_logits(vocab, 300);
    Array logprobs = logits - logsumexp(logits, {-1}, true);
    logprobs.eval();
    // Kept entries within float32 rounding of exp; the -inf mask exactly.
    expect_gpu_matches_cpu(vk_device, [&] { return generate::apply_top_k(logprobs, 40); }, 0, 0);
    expect_gpu_matches_cpu(vk_device, [&] { return generate::apply_top_p(logprobs, 0.9f); }, 0, 0);
    expect_gpu_matches_cpu(vk_device, [&] { return generate::apply_min_p(logprobs, 0.05f); }, 0, 0);
    // The penalty divides: NVIDIA's float32 division is within 2.5 ulp, not exact.
    expect_gpu_matches_cpu(vk_device, [&] { return generate::apply_repetition_penalty(logits, {1, 5, 9, 5}, 1.3f); },
                           0, 2.4e-7);
  }
}

// The whole sampler over a few steps: repetition penalty, top-k, top-p, min-p and the
// categorical draw give the CPU's tokens with no fallback.
TEST(VulkanSampler, SamplerSteps) {
  LAMINA_REQUIRE_VULKAN();
  generate::SamplerOptions options;
  options.temperature = 0.8f;
  options.top_p = 0.9f;
  options.top_k = 40;
  options.min_p = 0.01f;
  options.repetition_penalty = 1.1f;
  options.seed = 3;
  for (int64_t vocab : {int64_t{32000}, int64_t{151936}}) {
    SCOPED_TRACE(vocab);
    generate::Sampler cpu(options), gpu(options);
    std::vector<int32_t> history{1, 5, 9, 100, 5};
    std::set<int64_t> drawn;
    for (int step = 0; step < 6; ++step) {
      Array logits = peaked_logits(vocab, 200 + static_cast<uint32_t>(step % 2));
      logits.eval();
      Array want = run_on(Device::cpu(), [&] { return cpu.sample(logits, history); });
      uint64_t fallbacks = vulkan::fallback_count();
      Array got = run_on(Device::vulkan(vk_device), [&] { return gpu.sample(logits, history); });
      EXPECT_EQ(vulkan::fallback_count(), fallbacks) << "the sampler fell back to the CPU";
      ASSERT_EQ(got.to_vector<int64_t>(), want.to_vector<int64_t>()) << "step " << step;
      drawn.insert(want.to_vector<int64_t>()[0]);
      history.push_back(static_cast<int32_t>(want.to_vector<int64_t>()[0]));
    }
    EXPECT_GE(drawn.size(), 2u) << "the draws do not vary: the test compares nothing";
  }
}

// `lamina generate` with sampling on the GPU: the CPU's tokens, and none of these
// primitives in LAMINA_VULKAN_LOG=fallback's report. shakespeare-llama is trained, so
// top-k and top-p keep real candidates (the random tiny models' flat logits leave top-p
// nothing after top-k, and every token is 0 on either device). float32, because in
// bfloat16 the two devices' forward passes round differently and top-p's cut can move by
// a token (seen on an H200 with the first flags: the GPU then drew what float32 draws).
TEST(VulkanSampler, GenerateCommandSamplesOnTheGpu) {
  LAMINA_REQUIRE_VULKAN();
  const std::string model = testdata("models/shakespeare-llama");
  const std::string common = "generate --model " + shell_quote(model) + " --prompt 'ROMEO:' --max-tokens 24 --dtype float32 --json";
  for (const char* flags : {" --temp 0.8 --top-p 0.9 --top-k 40 --seed 3",
                            " --temp 1.2 --min-p 0.02 --repetition-penalty 1.3 --top-p 0.95 --seed 7"}) {
    SCOPED_TRACE(flags);
    setenv("LAMINA_VULKAN_LOG", "fallback", 1);
    CliResult gpu = run_lamina(common + flags + " --device vulkan:" + std::to_string(vk_device),
                               temp_dir("sampler_gpu"));
    unsetenv("LAMINA_VULKAN_LOG");
    CliResult cpu = run_lamina(common + flags + " --device cpu", temp_dir("sampler_cpu"));
    ASSERT_EQ(gpu.exit_code, 0) << gpu.err;
    ASSERT_EQ(cpu.exit_code, 0) << cpu.err;
    auto tokens = [](const std::string& out) {
      auto j = nlohmann::json::parse(out.substr(out.find('{')));
      return j.at("tokens").get<std::vector<int64_t>>();
    };
    const auto want = tokens(cpu.out);
    EXPECT_EQ(tokens(gpu.out), want);
    EXPECT_GE(std::set<int64_t>(want.begin(), want.end()).size(), 8u) << "degenerate sampling";
    for (const char* name : {"Sort", "ArgSort", "ArgPartition", "CumSum", "GatherAlongAxis", "ScatterAlongAxis",
                             "Scatter", "Arange", "RandomBits", "RandomUnit"}) {
      EXPECT_EQ(gpu.err.find(std::string("vulkan: ") + name + " has"), std::string::npos)
          << name << " fell back:\n" << gpu.err;
    }
    std::cout << "LAMINA_VULKAN_LOG=fallback report (" << flags << "): '" << gpu.err << "'\n";
  }
}

}  // namespace
}  // namespace lamina::test
