// DeviceMemory: sub-allocates arrays' storage from large device-local blocks and reuses
// freed ranges; also hands out host-visible chunks for staging and kernel parameters.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "libcore/array/buffer.h"
#include "libcore/backend/vulkan/vulkan_api.h"

namespace lamina::core::vulkan {

class Context;

// One sub-allocation: bytes [offset, offset + size) of `buffer`. It is what a device
// Buffer's owner() points to; destroying it returns the range to the allocator.
struct DeviceAllocation {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceSize offset = 0;
  VkDeviceSize size = 0;
  int block = 0;
  class DeviceMemory* memory = nullptr;
  ~DeviceAllocation();
};

// A host-visible, host-coherent buffer mapped for the life of the process.
struct HostChunk {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  VkDeviceSize size = 0;
  char* mapped = nullptr;
};

class DeviceMemory {
 public:
  explicit DeviceMemory(Context& ctx);
  // A device Buffer of at least `bytes` bytes (throws lamina::Error when the GPU is full).
  std::shared_ptr<Buffer> allocate(size_t bytes);
  // The allocation record behind a device Buffer.
  static const DeviceAllocation& allocation(const Buffer& buffer);

  // Host-visible chunks for staging: taken by a command batch, given back when it is done.
  HostChunk take_host_chunk(VkDeviceSize min_bytes);
  void give_back_host_chunk(const HostChunk& chunk);

  size_t active_bytes() const;
  size_t reserved_bytes() const;
  // The most device memory lamina reserves (LAMINA_VULKAN_MEMORY_LIMIT); 0: no limit.
  VkDeviceSize limit() const { return limit_; }

 private:
  friend struct DeviceAllocation;
  struct Block {
    VkBuffer buffer = VK_NULL_HANDLE;
    VkDeviceMemory memory = VK_NULL_HANDLE;
    VkDeviceSize size = 0;
    VkDeviceSize used = 0;  // bump pointer
    size_t live = 0;        // allocations not yet freed
  };
  struct FreeRange {
    int block;
    VkDeviceSize offset;
  };
  void release(int block, VkDeviceSize offset, VkDeviceSize size);
  int new_block(VkDeviceSize min_size);  // -1 when the driver has no memory left
  void release_unused_blocks();          // mutex_ held, GPU idle
  bool create_buffer(VkDeviceSize size, int memory_type, VkBuffer& buffer, VkDeviceMemory& memory);

  Context& ctx_;
  mutable std::mutex mutex_;
  std::vector<Block> blocks_;
  std::multimap<VkDeviceSize, FreeRange> free_;  // rounded size -> range
  VkDeviceSize block_size_ = 0;
  int device_type_ = -1;
  int host_type_ = -1;
  size_t active_ = 0;
  size_t reserved_ = 0;
  VkDeviceSize limit_ = 0;
  std::vector<HostChunk> host_free_;
};

}  // namespace lamina::core::vulkan
