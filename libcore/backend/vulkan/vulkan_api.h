// The Vulkan entry points lamina uses, loaded at run time from libvulkan.so.1 so that the
// library starts (and falls back to the CPU) on machines without a Vulkan loader.
#pragma once

#define VK_NO_PROTOTYPES
#include <vulkan/vulkan.h>

#include <string>

// X-macro lists: global (no instance), instance-level and device-level functions.
#define LAMINA_VK_GLOBAL_FUNCTIONS(X) \
  X(vkCreateInstance)                 \
  X(vkEnumerateInstanceVersion)

#define LAMINA_VK_INSTANCE_FUNCTIONS(X)        \
  X(vkDestroyInstance)                         \
  X(vkEnumeratePhysicalDevices)                \
  X(vkGetPhysicalDeviceProperties)             \
  X(vkGetPhysicalDeviceProperties2)            \
  X(vkGetPhysicalDeviceFeatures2)              \
  X(vkGetPhysicalDeviceMemoryProperties)       \
  X(vkGetPhysicalDeviceQueueFamilyProperties)  \
  X(vkEnumerateDeviceExtensionProperties)      \
  X(vkCreateDevice)                            \
  X(vkGetDeviceProcAddr)

#define LAMINA_VK_DEVICE_FUNCTIONS(X)     \
  X(vkDestroyDevice)                      \
  X(vkGetDeviceQueue)                     \
  X(vkDeviceWaitIdle)                     \
  X(vkAllocateMemory)                     \
  X(vkFreeMemory)                         \
  X(vkMapMemory)                          \
  X(vkCreateBuffer)                       \
  X(vkDestroyBuffer)                      \
  X(vkGetBufferMemoryRequirements)        \
  X(vkBindBufferMemory)                   \
  X(vkCreateShaderModule)                 \
  X(vkDestroyShaderModule)                \
  X(vkCreatePipelineCache)                \
  X(vkGetPipelineCacheData)               \
  X(vkCreateComputePipelines)             \
  X(vkCreateDescriptorSetLayout)          \
  X(vkCreatePipelineLayout)               \
  X(vkCreateDescriptorPool)               \
  X(vkResetDescriptorPool)                \
  X(vkAllocateDescriptorSets)             \
  X(vkUpdateDescriptorSets)               \
  X(vkCreateCommandPool)                  \
  X(vkAllocateCommandBuffers)             \
  X(vkResetCommandBuffer)                 \
  X(vkBeginCommandBuffer)                 \
  X(vkEndCommandBuffer)                   \
  X(vkCmdBindPipeline)                    \
  X(vkCmdBindDescriptorSets)              \
  X(vkCmdDispatch)                        \
  X(vkCmdPipelineBarrier)                 \
  X(vkCmdCopyBuffer)                      \
  X(vkCmdFillBuffer)                      \
  X(vkCreateFence)                        \
  X(vkResetFences)                        \
  X(vkWaitForFences)                      \
  X(vkGetFenceStatus)                     \
  X(vkQueueSubmit)                        \
  X(vkCreateQueryPool)                    \
  X(vkCmdResetQueryPool)                  \
  X(vkCmdWriteTimestamp)                  \
  X(vkGetQueryPoolResults)

// Entry points of optional device extensions: loaded per device with vkGetDeviceProcAddr,
// once the extension is enabled on it.
#define LAMINA_VK_DEVICE_EXTENSION_FUNCTIONS(X) \
  X(vkCmdPushDescriptorSetKHR)

namespace lamina::core::vulkan {

// One pointer per entry point; null until loaded. Device-level functions are loaded
// through the instance (the loader's trampolines), so they serve every device.
struct Api {
#define LAMINA_VK_DECLARE(name) PFN_##name name = nullptr;
  PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr = nullptr;
  LAMINA_VK_GLOBAL_FUNCTIONS(LAMINA_VK_DECLARE)
  LAMINA_VK_INSTANCE_FUNCTIONS(LAMINA_VK_DECLARE)
  LAMINA_VK_DEVICE_FUNCTIONS(LAMINA_VK_DECLARE)
#undef LAMINA_VK_DECLARE
};

// A device's extension entry points; null where the extension is not enabled.
struct DeviceExtensionApi {
#define LAMINA_VK_DECLARE(name) PFN_##name name = nullptr;
  LAMINA_VK_DEVICE_EXTENSION_FUNCTIONS(LAMINA_VK_DECLARE)
#undef LAMINA_VK_DECLARE
};

// The process-wide table.
Api& api();
// Loads libvulkan.so.1 and the global functions; returns false (and a reason) if absent.
bool load_loader(std::string& reason);
void load_instance_functions(VkInstance instance);
// The extension entry points of `device` (those of extensions it was created without stay
// null, or may be: check the extension, not the pointer alone).
DeviceExtensionApi load_device_extension_functions(VkDevice device);
// "VK_ERROR_OUT_OF_DEVICE_MEMORY" etc.
const char* result_name(VkResult result);
// Throws lamina::Error "<what>: <result name>" when result is not VK_SUCCESS.
void check(VkResult result, const char* what);

}  // namespace lamina::core::vulkan
