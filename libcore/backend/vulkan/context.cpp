// Logical device creation: one compute queue, the features the kernels use.
#include "libcore/backend/vulkan/context.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

#include "libcore/backend/vulkan/command_stream.h"
#include "libcore/backend/vulkan/device_memory.h"
#include "libcore/backend/vulkan/pipelines.h"
#include "libcore/error.h"

namespace lamina::core::vulkan {

Context::Context(const DeviceInfo& info) : info_(info) {
  const Api& vk = api();
  VkPhysicalDevice pd = info.handle;
  VkPhysicalDeviceProperties props{};
  vk.vkGetPhysicalDeviceProperties(pd, &props);
  limits_ = props.limits;
  binding_alignment_ = std::max<VkDeviceSize>(16, limits_.minStorageBufferOffsetAlignment);
  vk.vkGetPhysicalDeviceMemoryProperties(pd, &memory_);

  uint32_t count = 0;
  vk.vkGetPhysicalDeviceQueueFamilyProperties(pd, &count, nullptr);
  std::vector<VkQueueFamilyProperties> families(count);
  vk.vkGetPhysicalDeviceQueueFamilyProperties(pd, &count, families.data());
  // Prefer a compute queue family without graphics (a dedicated compute engine).
  int chosen = -1;
  for (uint32_t i = 0; i < count; ++i) {
    if (!(families[i].queueFlags & VK_QUEUE_COMPUTE_BIT)) continue;
    if (chosen < 0 || !(families[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) chosen = static_cast<int>(i);
    if (!(families[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) break;
  }
  if (chosen < 0) throw Error("vulkan:" + std::to_string(info.index) + " has no compute queue");
  queue_family_ = static_cast<uint32_t>(chosen);
  timestamps_ = families[queue_family_].timestampValidBits > 0 && limits_.timestampPeriod > 0;

  float priority = 1.0f;
  VkDeviceQueueCreateInfo queue_info{};
  queue_info.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
  queue_info.queueFamilyIndex = queue_family_;
  queue_info.queueCount = 1;
  queue_info.pQueuePriorities = &priority;

  // The tensor-core matmuls' extension, its feature and the memory model their SPIR-V
  // declares, when the device has them all (DeviceInfo::coopmat_n).
  const bool coopmat = info.coopmat_n != 0;
  std::vector<const char*> extensions;
  if (coopmat) extensions.push_back("VK_NV_cooperative_matrix");
  // Dispatches push their bindings instead of allocating and writing a descriptor set each.
  if (info.push_descriptor) extensions.push_back(VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME);
  VkPhysicalDeviceCooperativeMatrixFeaturesNV coopmat_features{};
  coopmat_features.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV;
  coopmat_features.cooperativeMatrix = VK_TRUE;
  VkPhysicalDeviceVulkan12Features f12{};
  f12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES;
  if (coopmat) f12.pNext = &coopmat_features;
  f12.vulkanMemoryModel = coopmat ? VK_TRUE : VK_FALSE;
  f12.storageBuffer8BitAccess = VK_TRUE;
  f12.shaderFloat16 = info.float16 ? VK_TRUE : VK_FALSE;
  f12.shaderInt8 = info.int8 ? VK_TRUE : VK_FALSE;
  VkPhysicalDeviceVulkan11Features f11{};
  f11.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES;
  f11.pNext = &f12;
  f11.storageBuffer16BitAccess = VK_TRUE;
  VkPhysicalDeviceFeatures2 f2{};
  f2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2;
  f2.pNext = &f11;
  f2.features.shaderInt64 = info.int64 ? VK_TRUE : VK_FALSE;
  f2.features.shaderInt16 = VK_FALSE;

  VkDeviceCreateInfo ci{};
  ci.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
  ci.pNext = &f2;
  ci.queueCreateInfoCount = 1;
  ci.pQueueCreateInfos = &queue_info;
  ci.enabledExtensionCount = static_cast<uint32_t>(extensions.size());
  ci.ppEnabledExtensionNames = extensions.data();
  check(vk.vkCreateDevice(pd, &ci, nullptr, &device_), "vkCreateDevice");
  // Device functions stay the loader's trampolines (valid for every device); per-device
  // pointers from vkGetDeviceProcAddr would be wrong for a second GPU.
  api().vkGetDeviceQueue(device_, queue_family_, 0, &queue_);
  extension_api_ = load_device_extension_functions(device_);
  const char* push_env = std::getenv("LAMINA_VULKAN_PUSH_DESCRIPTORS");
  set_push_descriptors(!(push_env && std::string(push_env) == "0"));

  memory_allocator_ = std::make_unique<DeviceMemory>(*this);
  stream_ = std::make_unique<CommandStream>(*this);
  pipelines_ = std::make_unique<Pipelines>(*this);
}

void Context::set_push_descriptors(bool on) {
  push_descriptors_ = on && info_.push_descriptor && extension_api_.vkCmdPushDescriptorSetKHR != nullptr;
}

int Context::find_memory_type(uint32_t type_bits, VkMemoryPropertyFlags required,
                              VkMemoryPropertyFlags preferred) const {
  int fallback = -1;
  for (uint32_t i = 0; i < memory_.memoryTypeCount; ++i) {
    if (!(type_bits & (1u << i))) continue;
    VkMemoryPropertyFlags f = memory_.memoryTypes[i].propertyFlags;
    if ((f & required) != required) continue;
    if ((f & preferred) == preferred) return static_cast<int>(i);
    if (fallback < 0) fallback = static_cast<int>(i);
  }
  return fallback;
}

namespace {
std::mutex g_contexts_mutex;
// Held through a pointer that is never destroyed, so that the contexts stay reachable (not
// reported as leaks) after static destructors have run at exit.
std::map<int, Context*>& g_contexts = *new std::map<int, Context*>();
}  // namespace

std::vector<Context*> created_contexts() {
  std::lock_guard<std::mutex> lock(g_contexts_mutex);
  std::vector<Context*> list;
  for (auto& [index, ctx] : g_contexts) list.push_back(ctx);
  return list;
}

bool device_available(int index) {
  const auto& list = devices();
  return index >= 0 && index < static_cast<int>(list.size()) && list[index].usable;
}

Context& context(int index) {
  std::lock_guard<std::mutex> lock(g_contexts_mutex);
  auto it = g_contexts.find(index);
  if (it != g_contexts.end()) return *it->second;
  const auto& list = devices();
  if (list.empty()) throw Error("vulkan:" + std::to_string(index) + " requested but " + unavailable_reason());
  if (index < 0 || index >= static_cast<int>(list.size())) {
    throw Error("vulkan:" + std::to_string(index) + " does not exist (" + std::to_string(list.size()) +
                " Vulkan device(s): see `lamina devices`)");
  }
  if (!list[index].usable) {
    throw Error("vulkan:" + std::to_string(index) + " (" + list[index].name +
                ") lacks Vulkan 1.2 with 8/16-bit storage buffers, which lamina needs");
  }
  auto* ctx = new Context(list[index]);  // never freed, see header
  g_contexts[index] = ctx;
  return *ctx;
}

}  // namespace lamina::core::vulkan
