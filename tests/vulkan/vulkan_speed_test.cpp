// Speed figures of the Vulkan kernels (disabled by default; run with
// --gtest_also_run_disabled_tests on a GPU): float16 matmul TFLOP/s and the decode
// matrix-vector product's GB/s of weights read.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "libcore/backend/vulkan/transfer.h"
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

}  // namespace
}  // namespace lamina::test
