// Faults on the GPU: an array larger than the device can bind, running out of device memory
// (produced with LAMINA_VULKAN_MEMORY_LIMIT), a bad limit, and a lost device: each one
// clear error naming what was asked, and a prompt, non-zero exit from the CLI.
#include <gtest/gtest.h>

#include <chrono>

#include "libcore/backend/vulkan/context.h"
#include "libcore/backend/vulkan/vulkan_api.h"
#include "libcore/error.h"
#include "libcore/ops/ops.h"
#include "tests/vulkan/vulkan_test_util.h"

namespace lamina::test {
namespace {

using namespace lamina::core;

TEST(VulkanFaults, ArrayOverTheStorageBufferLimitIsAClearError) {
  LAMINA_REQUIRE_VULKAN();
  const uint64_t limit = vulkan::context(vk_device).limits().maxStorageBufferRange;
  ScopedDevice gpu(Device::vulkan(vk_device));
  // A broadcast zero takes no memory; the sum with one is a real array of that size.
  Array big = zeros({static_cast<int64_t>(limit / 4 + 4096)}, Dtype::float32) + Array(1.0f);
  try {
    big.eval();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("exceeds the device's storage buffer limit"), std::string::npos)
        << e.what();
  }
  // The device still works afterwards.
  Array ok = sum(ones({1000}, Dtype::float32));
  EXPECT_EQ(ok.item<float>(), 1000.0f);
}

// Runs `lamina generate` on tiny-llama (its embedding alone is 4 MiB) on the GPU with
// LAMINA_VULKAN_MEMORY_LIMIT set to `limit`.
CliResult generate_with_limit(int device, const std::string& limit, const std::string& dir) {
  setenv("LAMINA_VULKAN_MEMORY_LIMIT", limit.c_str(), 1);
  auto r = run_lamina("generate --model " + shell_quote(testdata("models/tiny-llama")) +
                          " --prompt hello --max-tokens 4 --ignore-chat-template --device vulkan:" +
                          std::to_string(device),
                      dir);
  unsetenv("LAMINA_VULKAN_MEMORY_LIMIT");
  return r;
}

size_t line_count(const std::string& text) {
  size_t n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

TEST(VulkanFaults, OutOfDeviceMemoryIsOneLineWithWhatWasAskedAndAPromptExit) {
  LAMINA_REQUIRE_VULKAN();
  const std::string dir = temp_dir("vulkan_faults_oom");
  const auto start = std::chrono::steady_clock::now();
  auto r = generate_with_limit(vk_device, "1M", dir);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(line_count(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("lamina: error: vulkan:" + std::to_string(vk_device) + ": out of GPU memory allocating "),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("in use by arrays"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("LAMINA_VULKAN_MEMORY_LIMIT 1 MiB"), std::string::npos) << r.err;
  EXPECT_LT(seconds, 120.0) << "a bounded exit, not a hang";
  // With room for the model the same command works.
  auto ok = generate_with_limit(vk_device, "256M", dir);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

TEST(VulkanFaults, BadMemoryLimitIsOneClearLine) {
  LAMINA_REQUIRE_VULKAN();
  auto r = generate_with_limit(vk_device, "lots", temp_dir("vulkan_faults_limit"));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(line_count(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("LAMINA_VULKAN_MEMORY_LIMIT='lots' is not a size"), std::string::npos) << r.err;
}

TEST(VulkanFaults, LostDeviceIsAnErrorSayingSo) {
  // A lost device cannot be produced on lavapipe: check what every Vulkan call's result
  // goes through.
  try {
    vulkan::check(VK_ERROR_DEVICE_LOST, "vkQueueSubmit");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("vkQueueSubmit: the GPU was lost (VK_ERROR_DEVICE_LOST)"), std::string::npos)
        << e.what();
  }
  try {
    vulkan::check(VK_ERROR_OUT_OF_DEVICE_MEMORY, "vkAllocateMemory");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("vkAllocateMemory failed: VK_ERROR_OUT_OF_DEVICE_MEMORY"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace lamina::test
