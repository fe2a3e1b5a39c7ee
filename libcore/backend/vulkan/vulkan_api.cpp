// Run-time loading of the Vulkan loader library and its entry points.
#include "libcore/backend/vulkan/vulkan_api.h"

#include <dlfcn.h>

#include "libcore/error.h"

namespace lamina::core::vulkan {

Api& api() {
  static Api table;
  return table;
}

bool load_loader(std::string& reason) {
  static void* handle = nullptr;
  if (handle != nullptr) return true;
  for (const char* name : {"libvulkan.so.1", "libvulkan.so"}) {
    handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (handle != nullptr) break;
  }
  if (handle == nullptr) {
    reason = "no Vulkan loader (libvulkan.so.1) found";
    return false;
  }
  Api& a = api();
  a.vkGetInstanceProcAddr =
      reinterpret_cast<PFN_vkGetInstanceProcAddr>(dlsym(handle, "vkGetInstanceProcAddr"));
  if (a.vkGetInstanceProcAddr == nullptr) {
    reason = "the Vulkan loader has no vkGetInstanceProcAddr";
    return false;
  }
#define LAMINA_VK_LOAD(name) \
  a.name = reinterpret_cast<PFN_##name>(a.vkGetInstanceProcAddr(nullptr, #name));
  LAMINA_VK_GLOBAL_FUNCTIONS(LAMINA_VK_LOAD)
#undef LAMINA_VK_LOAD
  if (a.vkCreateInstance == nullptr) {
    reason = "the Vulkan loader has no vkCreateInstance";
    return false;
  }
  return true;
}

void load_instance_functions(VkInstance instance) {
  Api& a = api();
#define LAMINA_VK_LOAD(name) \
  a.name = reinterpret_cast<PFN_##name>(a.vkGetInstanceProcAddr(instance, #name));
  LAMINA_VK_INSTANCE_FUNCTIONS(LAMINA_VK_LOAD)
  // Device functions through the instance: valid for every device of this instance.
  LAMINA_VK_DEVICE_FUNCTIONS(LAMINA_VK_LOAD)
#undef LAMINA_VK_LOAD
}

DeviceExtensionApi load_device_extension_functions(VkDevice device) {
  DeviceExtensionApi a;
#define LAMINA_VK_LOAD(name) \
  a.name = reinterpret_cast<PFN_##name>(api().vkGetDeviceProcAddr(device, #name));
  LAMINA_VK_DEVICE_EXTENSION_FUNCTIONS(LAMINA_VK_LOAD)
#undef LAMINA_VK_LOAD
  return a;
}

const char* result_name(VkResult result) {
  switch (result) {
    case VK_SUCCESS: return "VK_SUCCESS";
    case VK_NOT_READY: return "VK_NOT_READY";
    case VK_TIMEOUT: return "VK_TIMEOUT";
    case VK_INCOMPLETE: return "VK_INCOMPLETE";
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
    case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
    case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY";
    default: return "VkResult error";
  }
}

void check(VkResult result, const char* what) {
  if (result == VK_SUCCESS) return;
  if (result == VK_ERROR_DEVICE_LOST) {
    throw Error(std::string("vulkan: ") + what + ": the GPU was lost (VK_ERROR_DEVICE_LOST); " +
                "the driver reset it or it hung");
  }
  throw Error(std::string("vulkan: ") + what + " failed: " + result_name(result) + " (" +
              std::to_string(static_cast<int>(result)) + ")");
}

}  // namespace lamina::core::vulkan
