// Helpers of the Vulkan tests: the device under test (skipped when there is none) and
// running one graph on the CPU and on the GPU for comparison.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <string>

#include "libcore/array/array.h"
#include "libcore/backend/vulkan/context.h"
#include "libcore/backend/vulkan/kernel_util.h"
#include "libcore/ops/ops.h"
#include "tests/test_util.h"

namespace lamina::test {

// The Vulkan device the tests use: LAMINA_TEST_VULKAN_DEVICE, else the first usable one;
// -1 when there is none.
inline int vulkan_test_device() {
  if (const char* env = std::getenv("LAMINA_TEST_VULKAN_DEVICE"); env && *env) return std::atoi(env);
  for (const auto& d : core::vulkan::devices()) {
    if (d.usable) return d.index;
  }
  return -1;
}

#define LAMINA_REQUIRE_VULKAN()                                             \
  const int vk_device = ::lamina::test::vulkan_test_device();               \
  if (vk_device < 0) GTEST_SKIP() << "no usable Vulkan device";             \
  (void)vk_device

// Sets the default device for a scope; the CPU again when the scope ends, however it ends.
struct ScopedDevice {
  explicit ScopedDevice(const core::Device& d) { core::set_default_device(d); }
  ~ScopedDevice() { core::set_default_device(core::Device::cpu()); }
  ScopedDevice(const ScopedDevice&) = delete;
  ScopedDevice& operator=(const ScopedDevice&) = delete;
};

// Builds and evaluates build() with the default device set to `device`.
inline core::Array run_on(const core::Device& device, const std::function<core::Array()>& build) {
  core::Device saved = core::default_device();
  core::set_default_device(device);
  core::Array out = build();
  out.eval();
  core::set_default_device(saved);
  return out;
}

// Runs build() on the CPU and on vulkan:device and compares; fails when a GPU kernel was
// expected (`native`) but the op fell back to the CPU.
inline void expect_gpu_matches_cpu(int device, const std::function<core::Array()>& build,
                                   double atol, double rtol, bool native = true) {
  core::Array ref = run_on(core::Device::cpu(), build);
  uint64_t fallbacks = core::vulkan::fallback_count();
  core::Array got = run_on(core::Device::vulkan(device), build);
  if (native) {
    EXPECT_EQ(core::vulkan::fallback_count(), fallbacks) << "ran on the CPU fallback";
  }
  ASSERT_EQ(got.dtype(), ref.dtype());
  expect_arrays_close(got, ref, atol, rtol);
}

// Runs body with subgroup operations allowed and again with LAMINA_VULKAN_SUBGROUPS=0 (the
// shared-memory variants of the reduction kernels).
template <typename F>
void with_and_without_subgroups(F body) {
  for (const char* value : {"1", "0"}) {
    SCOPED_TRACE(std::string("LAMINA_VULKAN_SUBGROUPS=") + value);
    setenv("LAMINA_VULKAN_SUBGROUPS", value, 1);
    body();
  }
  unsetenv("LAMINA_VULKAN_SUBGROUPS");
}

// The products with folds (tests/vulkan/vulkan_matmul_*_test.cpp): GPU against CPU tolerance
// by dtype; y checked to be a Matmul / QuantizedMatmul whose name shows the fold `what`
// ("+c", "rms_norm", "swiglu") and returned; the (x, scales) dtypes of the quantized cases:
// one dtype (out in it), and float32 x with float16 scales (out float32).
inline double product_tolerance(core::Dtype d) {
  return d == core::Dtype::float32 ? 1e-4 : d == core::Dtype::float16 ? 1e-2 : 6e-2;
}
inline core::Array expect_folded_product(const core::Array& y, const std::string& what) {
  const std::string name = node_name(y);
  EXPECT_TRUE((name.rfind("Matmul(", 0) == 0 || name.rfind("QuantizedMatmul(", 0) == 0) &&
              name.find(what) != std::string::npos)
      << name << " is not a product with " << what;
  return y;
}
struct XScalesDtypes {
  core::Dtype x, scales;
};
inline constexpr XScalesDtypes kXScalesDtypes[] = {{core::Dtype::float32, core::Dtype::float32},
                                                   {core::Dtype::float16, core::Dtype::float16},
                                                   {core::Dtype::float32, core::Dtype::float16}};

}  // namespace lamina::test
