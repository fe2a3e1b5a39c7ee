// Context: one logical Vulkan device (queue, memory types, allocator, command stream and
// pipelines), created on first use of vulkan:N and kept for the life of the process.
#pragma once

#include <memory>

#include "libcore/backend/vulkan/instance.h"

namespace lamina::core::vulkan {

class DeviceMemory;
class CommandStream;
class Pipelines;

class Context {
 public:
  explicit Context(const DeviceInfo& info);
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const DeviceInfo& info() const { return info_; }
  int index() const { return info_.index; }
  VkDevice device() const { return device_; }
  VkQueue queue() const { return queue_; }
  uint32_t queue_family() const { return queue_family_; }
  const VkPhysicalDeviceLimits& limits() const { return limits_; }
  const VkPhysicalDeviceMemoryProperties& memory_properties() const { return memory_; }
  // A memory type index with all of `required` (and preferably `preferred`) flags, or -1.
  int find_memory_type(uint32_t type_bits, VkMemoryPropertyFlags required,
                       VkMemoryPropertyFlags preferred) const;
  // Storage-buffer binding offsets are aligned to this (a power of two, at least 16).
  VkDeviceSize binding_alignment() const { return binding_alignment_; }
  // True when the compute queue writes timestamps (for LAMINA_VULKAN_PROFILE).
  bool timestamps() const { return timestamps_; }
  // True when dispatches push their bindings (VK_KHR_push_descriptor) instead of writing
  // a descriptor set each: the device has the extension and LAMINA_VULKAN_PUSH_DESCRIPTORS
  // is not "0" (read once, when the context is created).
  bool push_descriptors() const { return push_descriptors_; }
  // Turns that off or back on (tests run both paths); stays off without the extension.
  void set_push_descriptors(bool on);
  // The entry points of the extensions enabled on this device.
  const DeviceExtensionApi& extension_api() const { return extension_api_; }

  DeviceMemory& memory() { return *memory_allocator_; }
  CommandStream& stream() { return *stream_; }
  Pipelines& pipelines() { return *pipelines_; }

 private:
  DeviceInfo info_;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  uint32_t queue_family_ = 0;
  VkPhysicalDeviceLimits limits_{};
  VkPhysicalDeviceMemoryProperties memory_{};
  VkDeviceSize binding_alignment_ = 16;
  bool timestamps_ = false;
  bool push_descriptors_ = false;
  DeviceExtensionApi extension_api_;
  std::unique_ptr<DeviceMemory> memory_allocator_;
  std::unique_ptr<CommandStream> stream_;
  std::unique_ptr<Pipelines> pipelines_;
};

// The context of vulkan:index; throws lamina::Error when there is no such usable device.
// Contexts are never destroyed (drivers' own statics may be gone at exit).
Context& context(int index);
// The contexts created so far.
std::vector<Context*> created_contexts();
// True when vulkan:index exists and is usable.
bool device_available(int index);

}  // namespace lamina::core::vulkan
