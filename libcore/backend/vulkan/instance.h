// The Vulkan instance and the physical devices it sees, with what lamina needs to know
// about each (for `lamina devices`, `--device auto` and the kernels' choices).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "libcore/backend/vulkan/vulkan_api.h"

namespace lamina::core::vulkan {

struct DeviceInfo {
  int index = 0;
  std::string name;
  std::string type;  // "discrete", "integrated", "virtual", "cpu", "other"
  std::string driver;
  std::string api_version;  // "1.3.230"
  uint32_t vendor_id = 0;
  uint64_t device_local_bytes = 0;
  uint32_t subgroup_size = 0;
  uint32_t max_workgroup_invocations = 0;
  uint32_t max_shared_memory_bytes = 0;
  bool float16 = false;       // shaderFloat16 arithmetic
  bool int8 = false;          // shaderInt8 arithmetic
  bool int64 = false;         // shaderInt64
  bool storage16 = false;     // 16-bit storage buffers
  bool storage8 = false;      // 8-bit storage buffers
  bool bfloat16 = false;      // VK_KHR_shader_bfloat16
  bool cooperative_matrix_khr = false;
  bool cooperative_matrix_nv = false;
  bool push_descriptor = false;  // VK_KHR_push_descriptor
  // VK_NV_cooperative_matrix usable by the tensor-core matmuls: the extension, its
  // feature, the Vulkan memory model (their SPIR-V declares it) and float16 arithmetic;
  // coopmat_n is the N of the subgroup shape 16 x N x 16 (float16 a and b, float32 c)
  // that the kernels use, 16 or 8 (0: none).
  bool vulkan_memory_model = false;
  uint32_t coopmat_n = 0;
  bool subgroup_arithmetic = false;
  // True when lamina can run on it: Vulkan 1.2+ with 8- and 16-bit storage buffers.
  bool usable = false;
  VkPhysicalDevice handle = VK_NULL_HANDLE;
};

// The instance (created on first use); VK_NULL_HANDLE when Vulkan is unavailable.
VkInstance instance();
// Every physical device, in the driver's order (the N of vulkan:N). Empty without Vulkan.
const std::vector<DeviceInfo>& devices();
// Why Vulkan is unavailable ("" when the instance exists).
const std::string& unavailable_reason();
// The N of the 16 x N x 16 cooperative-matrix shape the matmuls use on this device, or 0
// when they must not (none, a subgroup size other than 32, or LAMINA_VULKAN_COOPMAT=0,
// which is read on every call: the tests switch it).
uint32_t coopmat_shape_n(const DeviceInfo& info);
// The index `--device auto` picks (discrete, then integrated, then virtual GPU), or -1.
int preferred_device();

}  // namespace lamina::core::vulkan
