// Instance creation and physical-device discovery.
#include "libcore/backend/vulkan/instance.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace lamina::core::vulkan {

namespace {

struct InstanceState {
  VkInstance instance = VK_NULL_HANDLE;
  std::vector<DeviceInfo> devices;
  std::string reason;
};

std::string version_string(uint32_t v) {
  return std::to_string(VK_API_VERSION_MAJOR(v)) + "." + std::to_string(VK_API_VERSION_MINOR(v)) +
         "." + std::to_string(VK_API_VERSION_PATCH(v));
}

const char* type_name(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
  }
}

// The N of a subgroup-scope 16 x N x 16 shape with float16 a/b and float32 c/d that
// VK_NV_cooperative_matrix lists (16 preferred, else 8), 0 when none.
uint32_t cooperative_matrix_n(VkInstance instance, VkPhysicalDevice pd) {
  auto get = reinterpret_cast<PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV>(
      api().vkGetInstanceProcAddr(instance, "vkGetPhysicalDeviceCooperativeMatrixPropertiesNV"));
  if (get == nullptr) return 0;
  uint32_t count = 0;
  if (get(pd, &count, nullptr) != VK_SUCCESS || count == 0) return 0;
  std::vector<VkCooperativeMatrixPropertiesNV> shapes(count);
  for (auto& s : shapes) s.sType = VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV;
  if (get(pd, &count, shapes.data()) != VK_SUCCESS) return 0;
  uint32_t best = 0;
  for (uint32_t i = 0; i < count; ++i) {
    const auto& s = shapes[i];
    bool types = s.AType == VK_COMPONENT_TYPE_FLOAT16_NV && s.BType == VK_COMPONENT_TYPE_FLOAT16_NV &&
                 s.CType == VK_COMPONENT_TYPE_FLOAT32_NV && s.DType == VK_COMPONENT_TYPE_FLOAT32_NV;
    if (types && s.scope == VK_SCOPE_SUBGROUP_NV && s.MSize == 16 && s.KSize == 16 && (s.NSize == 16 || s.NSize == 8)) {
      best = std::max(best, s.NSize);
    }
  }
  return best;
}

DeviceInfo describe(VkInstance instance, VkPhysicalDevice pd, int index) {
  const Api& vk = api();
  DeviceInfo info;
  info.index = index;
  info.handle = pd;
  VkPhysicalDeviceProperties props{};
  vk.vkGetPhysicalDeviceProperties(pd, &props);
  info.name = props.deviceName;
  info.type = type_name(props.deviceType);
  info.api_version = version_string(props.apiVersion);
  info.vendor_id = props.vendorID;
  info.max_workgroup_invocations = props.limits.maxComputeWorkGroupInvocations;
  info.max_shared_memory_bytes = props.limits.maxComputeSharedMemorySize;

  uint32_t count = 0;
  vk.vkEnumerateDeviceExtensionProperties(pd, nullptr, &count, nullptr);
  std::vector<VkExtensionProperties> exts(count);
  vk.vkEnumerateDeviceExtensionProperties(pd, nullptr, &count, exts.data());
  auto has = [&](const char* name) {
    for (const auto& e : exts) {
      if (std::strcmp(e.extensionName, name) == 0) return true;
    }
    return false;
  };
  info.bfloat16 = has("VK_KHR_shader_bfloat16");
  info.cooperative_matrix_khr = has("VK_KHR_cooperative_matrix");
  info.cooperative_matrix_nv = has("VK_NV_cooperative_matrix");
  info.push_descriptor = has("VK_KHR_push_descriptor");

  bool is_12 = props.apiVersion >= VK_API_VERSION_1_2;
  if (is_12) {
    VkPhysicalDeviceDriverProperties driver{};
    driver.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES;
    VkPhysicalDeviceSubgroupProperties subgroup{};
    subgroup.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES;
    subgroup.pNext = &driver;
    VkPhysicalDeviceProperties2 props2{};
    props2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
    props2.pNext = &subgroup;
    vk.vkGetPhysicalDeviceProperties2(pd, &props2);
    info.driver = std::string(driver.driverName) +
                  (driver.driverInfo[0] ? std::string(" ") + driver.driverInfo : std::string());
    info.subgroup_size = subgroup.subgroupSize;
    info.subgroup_arithmetic =
        (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT) != 0 &&
        (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) != 0;

    VkPhysicalDeviceCooperativeMatrixFeaturesNV coopmat{};
    coopmat.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV;
    VkPhysicalDeviceVulkan12Features f12{};
    f12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES;
    if (info.cooperative_matrix_nv) f12.pNext = &coopmat;
    VkPhysicalDeviceVulkan11Features f11{};
    f11.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES;
    f11.pNext = &f12;
    VkPhysicalDeviceFeatures2 f2{};
    f2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2;
    f2.pNext = &f11;
    vk.vkGetPhysicalDeviceFeatures2(pd, &f2);
    info.float16 = f12.shaderFloat16;
    info.int8 = f12.shaderInt8;
    info.int64 = f2.features.shaderInt64;
    info.storage16 = f11.storageBuffer16BitAccess;
    info.storage8 = f12.storageBuffer8BitAccess;
    info.vulkan_memory_model = f12.vulkanMemoryModel;
    if (info.cooperative_matrix_nv && coopmat.cooperativeMatrix && info.vulkan_memory_model && info.float16) {
      info.coopmat_n = cooperative_matrix_n(instance, pd);
    }
  } else {
    info.driver = "driver " + std::to_string(props.driverVersion);
  }
  info.usable = is_12 && info.storage16 && info.storage8;

  VkPhysicalDeviceMemoryProperties mem{};
  vk.vkGetPhysicalDeviceMemoryProperties(pd, &mem);
  for (uint32_t i = 0; i < mem.memoryHeapCount; ++i) {
    if (mem.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) {
      info.device_local_bytes += mem.memoryHeaps[i].size;
    }
  }
  return info;
}

InstanceState create() {
  InstanceState s;
  if (!load_loader(s.reason)) return s;
  const Api& vk = api();
  uint32_t loader_version = VK_API_VERSION_1_0;
  if (vk.vkEnumerateInstanceVersion) vk.vkEnumerateInstanceVersion(&loader_version);
  if (loader_version < VK_API_VERSION_1_2) {
    s.reason = "the Vulkan loader is older than 1.2";
    return s;
  }
  VkApplicationInfo app{};
  app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
  app.pApplicationName = "lamina";
  app.pEngineName = "lamina";
  app.apiVersion = VK_API_VERSION_1_2;
  VkInstanceCreateInfo ci{};
  ci.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
  ci.pApplicationInfo = &app;
  VkResult r = vk.vkCreateInstance(&ci, nullptr, &s.instance);
  if (r != VK_SUCCESS) {
    s.instance = VK_NULL_HANDLE;
    s.reason = std::string("no Vulkan driver (vkCreateInstance: ") + result_name(r) + ")";
    return s;
  }
  load_instance_functions(s.instance);
  uint32_t count = 0;
  api().vkEnumeratePhysicalDevices(s.instance, &count, nullptr);
  std::vector<VkPhysicalDevice> pds(count);
  api().vkEnumeratePhysicalDevices(s.instance, &count, pds.data());
  for (uint32_t i = 0; i < count; ++i) s.devices.push_back(describe(s.instance, pds[i], static_cast<int>(i)));
  if (s.devices.empty()) s.reason = "the Vulkan driver reports no devices";
  return s;
}

InstanceState& state() {
  static InstanceState s = create();
  return s;
}

}  // namespace

VkInstance instance() { return state().instance; }

const std::vector<DeviceInfo>& devices() { return state().devices; }

const std::string& unavailable_reason() { return state().reason; }

int preferred_device() {
  for (const char* type : {"discrete", "integrated", "virtual"}) {
    for (const auto& d : devices()) {
      if (d.usable && d.type == type) return d.index;
    }
  }
  return -1;
}

uint32_t coopmat_shape_n(const DeviceInfo& info) {
  const char* env = std::getenv("LAMINA_VULKAN_COOPMAT");
  if (env && std::strcmp(env, "0") == 0) return 0;
  return info.subgroup_size == 32 ? info.coopmat_n : 0;
}

}  // namespace lamina::core::vulkan
