// Speed figures of the Vulkan kernels (disabled by default; run with
// --gtest_also_run_disabled_tests on a GPU): float16 matmul TFLOP/s, the decode
// matrix-vector product's GB/s of weights read (float16 and 4-bit quantized), argmax and sum,
// and the decode step's attention and norms as chains of dependent dispatches.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <vector>

#include "libcore/backend/vulkan/instance.h"
#include "libcore/backend/vulkan/transfer.h"
#include "libcore/ops/fast.h"
#include "libcore/ops/ops.h"
#include "tests/vulkan/vulkan_test_util.h"

namespace lamina::test {
namespace {

using namespace lamina::core;

// Seconds per evaluation of build(), after one warm-up, averaged over `reps`.
double seconds_per_run(int device, int reps, const std::function<Array()>& build) {
  run_on(Device::vulkan(device), build);
  vulkan::synchronize_all();
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) run_on(Device::vulkan(device), build);
  vulkan::synchronize_all();
  auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double>(t1 - t0).count() / reps;
}

TEST(VulkanSpeed, DISABLED_MatmulAndMatvec) {
  LAMINA_REQUIRE_VULKAN();
  for (int64_t n : {1024, 4096}) {
    Array a = astype(random_array({n, n}, 1), Dtype::float16);
    Array b = astype(random_array({n, n}, 2), Dtype::float16);
    run_on(Device::vulkan(vk_device), [&] { return add(a, b); });  // upload once
    double s = seconds_per_run(vk_device, 10, [&] { return matmul(a, b); });
    std::printf("matmul f16 %lldx%lldx%lld: %.3f ms, %.2f TFLOP/s\n", static_cast<long long>(n),
                static_cast<long long>(n), static_cast<long long>(n), s * 1e3,
                2.0 * n * n * n / s / 1e12);
  }
  Array w = astype(random_array({11008, 4096}, 3), Dtype::float16);
  Array x = astype(random_array({1, 4096}, 4), Dtype::float16);
  run_on(Device::vulkan(vk_device), [&] { return add(w, w); });
  double s = seconds_per_run(vk_device, 50, [&] { return matmul(x, transpose(w)); });
  std::printf("matvec f16 1x4096 @ 4096x11008: %.3f ms, %.1f GB/s of weights\n", s * 1e3,
              11008.0 * 4096 * 2 / s / 1e9);
  // A chain of small dispatches: the per-dispatch overhead.
  Array v = astype(random_array({1, 2048}, 5), Dtype::float16);
  double chain = seconds_per_run(vk_device, 20, [&] {
    Array y = v;
    for (int i = 0; i < 200; ++i) y = multiply(y, y);
    return y;
  });
  std::printf("200 chained elementwise dispatches: %.3f ms (%.1f us each)\n", chain * 1e3, chain * 1e6 / 200);
}

TEST(VulkanSpeed, DISABLED_QuantizedAndReduce) {
  LAMINA_REQUIRE_VULKAN();
  // 4-bit, group 64, float16 scales: the decode matvec and a 512-row prefill.
  auto q = quantize(astype(random_array({11008, 4096}, 6), Dtype::float16), 64, 4);
  eval({q.weight, q.scales, q.biases});
  const double bytes = static_cast<double>(q.weight.nbytes() + q.scales.nbytes() + q.biases.nbytes());
  Array x = astype(random_array({1, 4096}, 7), Dtype::float16);
  Array xs = astype(random_array({512, 4096}, 8), Dtype::float16);
  auto qmm = [&](const Array& in) { return quantized_matmul(in, q.weight, q.scales, q.biases, true, 64, 4); };
  double s = seconds_per_run(vk_device, 50, [&] { return qmm(x); });
  std::printf("quantized matvec 4-bit g64 1x4096 @ 4096x11008: %.3f ms, %.1f GB/s of packed weights\n", s * 1e3,
              bytes / s / 1e9);
  s = seconds_per_run(vk_device, 10, [&] { return qmm(xs); });
  std::printf("quantized matmul 4-bit g64 512x4096 @ 4096x11008: %.3f ms, %.2f TFLOP/s\n", s * 1e3,
              2.0 * 512 * 4096 * 11008 / s / 1e12);
  // The greedy sampler's argmax over a large vocabulary, and a row-wise sum.
  Array logits = astype(random_array({1, 152064}, 9), Dtype::float16);
  s = seconds_per_run(vk_device, 50, [&] { return argmax(logits, -1); });
  std::printf("argmax over 152064 float16 logits: %.3f ms\n", s * 1e3);
  Array m = random_array({4096, 4096}, 10);
  s = seconds_per_run(vk_device, 20, [&] { return sum(m, {1}); });
  std::printf("sum float32 4096x4096 over rows: %.3f ms, %.1f GB/s\n", s * 1e3, 4096.0 * 4096 * 4 / s / 1e9);
}

// Prefill products with and without the tensor cores (LAMINA_VULKAN_COOPMAT=0/1; the same
// kernel twice on devices without VK_NV_cooperative_matrix): float16 4096^3 (b row-major
// and transposed), TinyLlama's 512-row projections, and the 512-row 4-bit prefill.
TEST(VulkanSpeed, DISABLED_CooperativeMatrix) {
  LAMINA_REQUIRE_VULKAN();
  std::printf("coopmat shape 16x%ux16 on this device\n", vulkan::coopmat_shape_n(vulkan::devices()[vk_device]));
  Array a = astype(random_array({4096, 4096}, 1), Dtype::float16);
  Array b = astype(random_array({4096, 4096}, 2), Dtype::float16);
  Array x = astype(random_array({512, 2048}, 3), Dtype::float16);
  Array w = astype(random_array({5632, 2048}, 4), Dtype::float16);
  auto q = quantize(astype(random_array({11008, 4096}, 6), Dtype::float16), 64, 4);
  Array xs = astype(random_array({512, 4096}, 8), Dtype::float16);
  eval({q.weight, q.scales, q.biases});
  for (const Array& in : {a, b, x, w, xs}) run_on(Device::vulkan(vk_device), [&] { return add(in, in); });  // upload once
  for (const char* value : {"0", "1"}) {
    setenv("LAMINA_VULKAN_COOPMAT", value, 1);
    double s = seconds_per_run(vk_device, 10, [&] { return matmul(a, b); });
    std::printf("COOPMAT=%s matmul f16 4096^3: %.3f ms, %.2f TFLOP/s\n", value, s * 1e3, 2.0 * 4096 * 4096 * 4096 / s / 1e12);
    s = seconds_per_run(vk_device, 10, [&] { return matmul(a, transpose(b)); });
    std::printf("COOPMAT=%s matmul f16 4096^3, b transposed: %.3f ms, %.2f TFLOP/s\n", value, s * 1e3,
                2.0 * 4096 * 4096 * 4096 / s / 1e12);
    s = seconds_per_run(vk_device, 20, [&] { return matmul(x, transpose(w)); });
    std::printf("COOPMAT=%s matmul f16 512x2048 @ (5632x2048)^T: %.3f ms, %.2f TFLOP/s\n", value, s * 1e3,
                2.0 * 512 * 2048 * 5632 / s / 1e12);
    s = seconds_per_run(vk_device, 10,
                        [&] { return quantized_matmul(xs, q.weight, q.scales, q.biases, true, 64, 4); });
    std::printf("COOPMAT=%s quantized matmul 4-bit g64 512x4096 @ 4096x11008: %.3f ms, %.2f TFLOP/s\n", value,
                s * 1e3, 2.0 * 512 * 4096 * 11008 / s / 1e12);
  }
  unsetenv("LAMINA_VULKAN_COOPMAT");
}

// Decode matrix-vector products of TinyLlama-1.1B's shapes, chained (each reads the last
// one's output) as in a layer: time per dispatch, barriers included, and GB/s of weights.
TEST(VulkanSpeed, DISABLED_DecodeMatvecChain) {
  LAMINA_REQUIRE_VULKAN();
  const int chain = 40;
  Array x = astype(random_array({1, 2048}, 11), Dtype::float16);
  struct Weights {
    const char* name;
    std::function<Array(const Array&, int)> apply;  // 0: square, 1: up, 2: down
    double bytes[3];
  };
  std::vector<Array> f16;
  const int64_t shapes[3][2] = {{2048, 2048}, {5632, 2048}, {2048, 5632}};
  for (int i = 0; i < 3; ++i) f16.push_back(astype(random_array({shapes[i][0], shapes[i][1]}, 12 + i), Dtype::float16));
  eval(f16);
  std::vector<QuantizedArrays> q4;
  for (const Array& w : f16) q4.push_back(quantize(w, 64, 4));
  for (auto& q : q4) eval({q.weight, q.scales, q.biases});
  auto q_bytes = [&](int i) {
    return static_cast<double>(q4[i].weight.nbytes() + q4[i].scales.nbytes() + q4[i].biases.nbytes());
  };
  Weights kinds[] = {
      {"float16", [&](const Array& in, int i) { return matmul(in, transpose(f16[i])); },
       {f16[0].nbytes() * 1.0, f16[1].nbytes() * 1.0, f16[2].nbytes() * 1.0}},
      {"4-bit g64", [&](const Array& in, int i) {
         return quantized_matmul(in, q4[i].weight, q4[i].scales, q4[i].biases, true, 64, 4);
       }, {q_bytes(0), q_bytes(1), q_bytes(2)}},
  };
  for (const Weights& kind : kinds) {
    double s = seconds_per_run(vk_device, 10, [&] {
      Array y = x;
      for (int i = 0; i < chain; ++i) y = kind.apply(y, 0);
      return y;
    });
    std::printf("matvec chain %s 2048x2048: %.2f us per dispatch, %.0f GB/s\n", kind.name, s * 1e6 / chain,
                kind.bytes[0] * chain / s / 1e9);
    s = seconds_per_run(vk_device, 10, [&] {
      Array y = x;
      for (int i = 0; i < chain / 2; ++i) y = kind.apply(kind.apply(y, 1), 2);
      return y;
    });
    std::printf("matvec chain %s 5632x2048 + 2048x5632: %.2f us per dispatch, %.0f GB/s\n", kind.name,
                s * 1e6 / chain, (kind.bytes[1] + kind.bytes[2]) * chain / 2 / s / 1e9);
  }
}

// The 4-bit chains above with weights the GPU's cache cannot hold: 64 different copies of
// each weight (150 MB of 2048x2048, 830 MB of the MLP pair), the chain stepping through
// them as a model's layers do, so every product reads its weight from device memory;
// beside it the same chain on one copy (read from the cache after the first step), and a
// 96 MiB elementwise product as the device's memory bandwidth through this backend.
TEST(VulkanSpeed, DISABLED_DecodeMatvecChainFromMemory) {
  LAMINA_REQUIRE_VULKAN();
  ScopedDevice gpu(Device::vulkan(vk_device));
  constexpr int kCopies = 64;
  Array x = astype(random_array({1, 2048}, 11), Dtype::float16);
  const int64_t shapes[3][2] = {{2048, 2048}, {5632, 2048}, {2048, 5632}};
  std::vector<QuantizedArrays> q[3];
  double bytes[3] = {0, 0, 0};
  for (int s = 0; s < 3; ++s) {
    Array w = astype(random_array({shapes[s][0], shapes[s][1]}, 12 + s), Dtype::float16);
    for (int i = 0; i < kCopies; ++i) {
      q[s].push_back(quantize(add(w, astype(Array(1e-3f * static_cast<float>(i)), Dtype::float16)), 64, 4));
      eval({q[s].back().weight, q[s].back().scales, q[s].back().biases});
    }
    bytes[s] = static_cast<double>(q[s][0].weight.nbytes() + q[s][0].scales.nbytes() + q[s][0].biases.nbytes());
  }
  auto product = [&](const Array& in, int s, int i) {
    const QuantizedArrays& w = q[s][static_cast<size_t>(i)];
    return quantized_matmul(in, w.weight, w.scales, w.biases, true, 64, 4);
  };
  for (int copies : {1, kCopies}) {
    const char* where = copies == 1 ? "one copy (cache)" : "64 copies (memory)";
    double t = seconds_per_run(vk_device, 10, [&] {
      Array y = x;
      for (int i = 0; i < kCopies; ++i) y = product(y, 0, i % copies);
      return y;
    });
    std::printf("4-bit matvec chain 2048x2048, %s: %.2f us per dispatch, %.0f GB/s\n", where, t * 1e6 / kCopies,
                bytes[0] * kCopies / t / 1e9);
    t = seconds_per_run(vk_device, 10, [&] {
      Array y = x;
      for (int i = 0; i < kCopies; ++i) y = product(product(y, 1, i % copies), 2, i % copies);
      return y;
    });
    std::printf("4-bit matvec chain 5632x2048 + 2048x5632, %s: %.2f us per dispatch, %.0f GB/s\n", where,
                t * 1e6 / (2 * kCopies), (bytes[1] + bytes[2]) * kCopies / t / 1e9);
  }
  Array big = astype(Array(1.0f), Dtype::float16);
  const int64_t elements = int64_t{48} << 20;  // under the 128 MiB a storage buffer may be on some devices
  big = contiguous(broadcast_to(big, {elements}));
  eval({big});
  double t = seconds_per_run(vk_device, 10, [&] { return multiply(big, big); });
  std::printf("elementwise 96 MiB float16 in, 96 MiB out: %.3f ms, %.0f GB/s\n", t * 1e3, 4.0 * elements / t / 1e9);
}

// Decode-step kernels at the TinyLlama shape (32 query heads, 4 KV heads, head dim 64,
// hidden 2048), each as a chain of 100 dependent dispatches (host time / 100: the cost a
// token pays per dispatch): attention through the split-key kernel and through the
// one-workgroup-per-row kernel (LAMINA_VULKAN_SDPA_SPLIT=0) at several cache lengths,
// rms_norm / softmax of one row with and without subgroup reductions, and an elementwise
// chain as the floor.
TEST(VulkanSpeed, DISABLED_DecodeStepKernels) {
  LAMINA_REQUIRE_VULKAN();
  constexpr int kChain = 100;
  auto per_dispatch_us = [&](const std::function<Array()>& build) {
    return seconds_per_run(vk_device, 10, build) * 1e6 / kChain;
  };
  Array q0 = astype(random_array({1, 32, 1, 64}, 11), Dtype::float16);
  for (int64_t lk : {16, 144, 650, 2048, 8192}) {
    Array k = astype(random_array({1, 4, lk, 64}, 12), Dtype::float16);
    Array v = astype(random_array({1, 4, lk, 64}, 13), Dtype::float16);
    run_on(Device::vulkan(vk_device), [&] { return add(k, v); });  // upload once
    auto chain = [&] {
      Array q = q0;
      for (int i = 0; i < kChain; ++i) q = fast::scaled_dot_product_attention(q, k, v, 0.125f);
      return q;
    };
    setenv("LAMINA_VULKAN_SDPA_SPLIT", "1", 1);
    double split = per_dispatch_us(chain);
    setenv("LAMINA_VULKAN_SDPA_SPLIT", "0", 1);
    double row = per_dispatch_us(chain);
    unsetenv("LAMINA_VULKAN_SDPA_SPLIT");
    std::printf("sdpa f16 1x32x1x64, %lld keys (4 KV heads): split %.2f us, per-row kernel %.2f us per dispatch\n",
                static_cast<long long>(lk), split, row);
  }
  Array x0 = astype(random_array({1, 2048}, 14), Dtype::float16);
  Array w = astype(random_array({2048}, 15), Dtype::float16);
  with_and_without_subgroups([&] {
    double norm = per_dispatch_us([&] {
      Array x = x0;
      for (int i = 0; i < kChain; ++i) x = fast::rms_norm(x, w, 1e-5f);
      return x;
    });
    double soft = per_dispatch_us([&] {
      Array x = x0;
      for (int i = 0; i < kChain; ++i) x = softmax(x, -1);
      return x;
    });
    const char* sg = std::getenv("LAMINA_VULKAN_SUBGROUPS");
    std::printf("1x2048 f16 (LAMINA_VULKAN_SUBGROUPS=%s): rms_norm %.2f us, softmax %.2f us per dispatch\n",
                sg ? sg : "", norm, soft);
  });
  double floor = per_dispatch_us([&] {
    Array x = x0;
    for (int i = 0; i < kChain; ++i) x = multiply(x, w);
    return x;
  });
  std::printf("1x2048 f16 multiply (the floor): %.2f us per dispatch\n", floor);
}

}  // namespace
}  // namespace lamina::test
