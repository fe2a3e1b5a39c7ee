// Block sub-allocation of device memory and the host-visible staging chunks.
#include "libcore/backend/vulkan/device_memory.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "libcore/backend/vulkan/command_stream.h"
#include "libcore/backend/vulkan/context.h"
#include "libcore/error.h"

namespace lamina::core::vulkan {

namespace {

constexpr VkDeviceSize kDefaultBlockBytes = VkDeviceSize{256} << 20;
constexpr VkDeviceSize kHostChunkBytes = VkDeviceSize{4} << 20;
constexpr VkBufferUsageFlags kUsage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
                                      VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                      VK_BUFFER_USAGE_TRANSFER_DST_BIT;

// Rounds sizes so that ranges of similar size are interchangeable (as the CPU allocator).
VkDeviceSize round_size(VkDeviceSize bytes) {
  if (bytes <= 4096) return (bytes + 255) / 256 * 256;
  VkDeviceSize page = bytes > (VkDeviceSize{1} << 20) ? VkDeviceSize{1} << 16 : 4096;
  return (bytes + page - 1) / page * page;
}

std::string mib(VkDeviceSize bytes) {
  return std::to_string((bytes + (1 << 20) - 1) >> 20) + " MiB";
}

// LAMINA_VULKAN_MEMORY_LIMIT: bytes, or a number with a K/M/G suffix (powers of 1024);
// unset or empty: no limit. Throws on anything else.
VkDeviceSize memory_limit_from_env() {
  const char* text = std::getenv("LAMINA_VULKAN_MEMORY_LIMIT");
  if (text == nullptr || *text == '\0') return 0;
  char* end = nullptr;
  errno = 0;
  unsigned long long value = std::strtoull(text, &end, 10);
  VkDeviceSize scale = 1;
  if (*end == 'K' || *end == 'k') scale = VkDeviceSize{1} << 10;
  if (*end == 'M' || *end == 'm') scale = VkDeviceSize{1} << 20;
  if (*end == 'G' || *end == 'g') scale = VkDeviceSize{1} << 30;
  if (scale != 1) ++end;
  if (end == text || *end != '\0' || errno != 0 || value == 0 || value > (~VkDeviceSize{0}) / scale) {
    throw Error(std::string("LAMINA_VULKAN_MEMORY_LIMIT='") + text +
                "' is not a size (bytes, or a number with K, M or G)");
  }
  return value * scale;
}

}  // namespace

DeviceAllocation::~DeviceAllocation() {
  if (memory != nullptr) memory->release(block, offset, size);
}

DeviceMemory::DeviceMemory(Context& ctx) : ctx_(ctx), limit_(memory_limit_from_env()) {
  // Blocks must be bindable whole; keep them under the storage-buffer range limit.
  block_size_ = std::min<VkDeviceSize>(kDefaultBlockBytes, ctx.limits().maxStorageBufferRange);
  block_size_ = block_size_ / 65536 * 65536;
  // Memory types are the same for every buffer of one usage, so probe once.
  VkBufferCreateInfo bi{};
  bi.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
  bi.size = 65536;
  bi.usage = kUsage;
  bi.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  VkBuffer probe = VK_NULL_HANDLE;
  check(api().vkCreateBuffer(ctx.device(), &bi, nullptr, &probe), "vkCreateBuffer");
  VkMemoryRequirements req{};
  api().vkGetBufferMemoryRequirements(ctx.device(), probe, &req);
  api().vkDestroyBuffer(ctx.device(), probe, nullptr);
  device_type_ = ctx.find_memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0);
  if (device_type_ < 0) device_type_ = ctx.find_memory_type(req.memoryTypeBits, 0, 0);
  host_type_ = ctx.find_memory_type(
      req.memoryTypeBits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
      VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
  if (device_type_ < 0 || host_type_ < 0) {
    throw Error("vulkan:" + std::to_string(ctx.index()) + " has no usable memory type for buffers");
  }
}

bool DeviceMemory::create_buffer(VkDeviceSize size, int memory_type, VkBuffer& buffer,
                                 VkDeviceMemory& memory) {
  const Api& vk = api();
  VkBufferCreateInfo bi{};
  bi.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
  bi.size = size;
  bi.usage = kUsage;
  bi.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  if (vk.vkCreateBuffer(ctx_.device(), &bi, nullptr, &buffer) != VK_SUCCESS) return false;
  VkMemoryRequirements req{};
  vk.vkGetBufferMemoryRequirements(ctx_.device(), buffer, &req);
  VkMemoryAllocateInfo ai{};
  ai.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
  ai.allocationSize = req.size;
  ai.memoryTypeIndex = static_cast<uint32_t>(memory_type);
  if (vk.vkAllocateMemory(ctx_.device(), &ai, nullptr, &memory) != VK_SUCCESS) {
    vk.vkDestroyBuffer(ctx_.device(), buffer, nullptr);
    buffer = VK_NULL_HANDLE;
    return false;
  }
  check(vk.vkBindBufferMemory(ctx_.device(), buffer, memory, 0), "vkBindBufferMemory");
  return true;
}

int DeviceMemory::new_block(VkDeviceSize min_size) {
  auto within_limit = [&](VkDeviceSize size) { return limit_ == 0 || reserved_ + size <= limit_; };
  Block b;
  b.size = std::max(block_size_, min_size);
  if (!within_limit(b.size) || !create_buffer(b.size, device_type_, b.buffer, b.memory)) {
    b.size = min_size;
    if (min_size == block_size_ || !within_limit(b.size) ||
        !create_buffer(b.size, device_type_, b.buffer, b.memory)) {
      return -1;
    }
  }
  reserved_ += b.size;
  for (size_t i = 0; i < blocks_.size(); ++i) {
    if (blocks_[i].buffer == VK_NULL_HANDLE) {
      blocks_[i] = b;
      return static_cast<int>(i);
    }
  }
  blocks_.push_back(b);
  return static_cast<int>(blocks_.size() - 1);
}

std::shared_ptr<Buffer> DeviceMemory::allocate(size_t bytes) {
  VkDeviceSize rounded = round_size(std::max<VkDeviceSize>(bytes, 1));
  if (rounded > ctx_.limits().maxStorageBufferRange) {
    throw Error("vulkan:" + std::to_string(ctx_.index()) + ": one array of " + mib(rounded) +
                " exceeds the device's storage buffer limit of " +
                mib(ctx_.limits().maxStorageBufferRange));
  }
  std::unique_lock<std::mutex> lock(mutex_);
  int block = -1;
  VkDeviceSize offset = 0;
  // Exact size first, then a free range at most twice as large.
  auto it = free_.lower_bound(rounded);
  if (it != free_.end() && it->first <= rounded * 2) {
    block = it->second.block;
    offset = it->second.offset;
    rounded = it->first;
    free_.erase(it);
  } else {
    for (size_t i = 0; i < blocks_.size(); ++i) {
      Block& b = blocks_[i];
      if (b.buffer != VK_NULL_HANDLE && b.size - b.used >= rounded) {
        block = static_cast<int>(i);
        break;
      }
    }
    if (block < 0) block = new_block(rounded);
    if (block < 0) {
      // Let queued work finish, give empty blocks back to the driver, and try once more.
      lock.unlock();
      ctx_.stream().synchronize();
      lock.lock();
      release_unused_blocks();
      block = new_block(rounded);
    }
    if (block < 0) {
      throw Error("vulkan:" + std::to_string(ctx_.index()) + ": out of GPU memory allocating " +
                  mib(rounded) + " (" + mib(active_) + " in use by arrays, " + mib(reserved_) +
                  " reserved by lamina, " + mib(ctx_.info().device_local_bytes) + " on the device" +
                  (limit_ ? ", LAMINA_VULKAN_MEMORY_LIMIT " + mib(limit_) : std::string()) + ")");
    }
    offset = blocks_[block].used;
    blocks_[block].used += rounded;
  }
  blocks_[block].live += 1;
  active_ += rounded;
  auto record = std::make_shared<DeviceAllocation>();
  record->buffer = blocks_[block].buffer;
  record->offset = offset;
  record->size = rounded;
  record->block = block;
  record->memory = this;
  return std::make_shared<Buffer>(Device::vulkan(ctx_.index()), static_cast<size_t>(rounded),
                                  std::shared_ptr<const void>(record));
}

const DeviceAllocation& DeviceMemory::allocation(const Buffer& buffer) {
  return *static_cast<const DeviceAllocation*>(buffer.owner().get());
}

void DeviceMemory::release(int block, VkDeviceSize offset, VkDeviceSize size) {
  std::lock_guard<std::mutex> lock(mutex_);
  active_ -= size;
  Block& b = blocks_[block];
  b.live -= 1;
  if (offset + size == b.used) {
    b.used = offset;  // the last range of the block: move the bump pointer back
  } else {
    free_.emplace(size, FreeRange{block, offset});
  }
  if (b.live == 0) {
    // Everything in the block is free: forget its ranges, start it afresh.
    for (auto it = free_.begin(); it != free_.end();) {
      it = it->second.block == block ? free_.erase(it) : std::next(it);
    }
    b.used = 0;
  }
}

void DeviceMemory::release_unused_blocks() {
  // Called with mutex_ held, after a GPU wait: no queued command refers to a free block.
  const Api& vk = api();
  for (auto& b : blocks_) {
    if (b.buffer != VK_NULL_HANDLE && b.live == 0) {
      vk.vkDestroyBuffer(ctx_.device(), b.buffer, nullptr);
      vk.vkFreeMemory(ctx_.device(), b.memory, nullptr);
      reserved_ -= b.size;
      b = Block{};
    }
  }
}

HostChunk DeviceMemory::take_host_chunk(VkDeviceSize min_bytes) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t i = 0; i < host_free_.size(); ++i) {
      if (host_free_[i].size >= min_bytes) {
        HostChunk c = host_free_[i];
        host_free_.erase(host_free_.begin() + static_cast<std::ptrdiff_t>(i));
        return c;
      }
    }
  }
  HostChunk c;
  c.size = std::max(kHostChunkBytes, (min_bytes + 65535) / 65536 * 65536);
  if (!create_buffer(c.size, host_type_, c.buffer, c.memory)) {
    throw Error("vulkan:" + std::to_string(ctx_.index()) + ": out of host-visible memory allocating " +
                mib(c.size) + " of staging");
  }
  void* p = nullptr;
  check(api().vkMapMemory(ctx_.device(), c.memory, 0, VK_WHOLE_SIZE, 0, &p), "vkMapMemory");
  c.mapped = static_cast<char*>(p);
  return c;
}

void DeviceMemory::give_back_host_chunk(const HostChunk& chunk) {
  const Api& vk = api();
  std::lock_guard<std::mutex> lock(mutex_);
  // Keep a few default-size chunks; large one-off staging goes back to the driver.
  if (chunk.size > kHostChunkBytes * 4 || host_free_.size() >= 16) {
    vk.vkDestroyBuffer(ctx_.device(), chunk.buffer, nullptr);
    vk.vkFreeMemory(ctx_.device(), chunk.memory, nullptr);
    return;
  }
  host_free_.push_back(chunk);
}

size_t DeviceMemory::active_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return active_;
}

size_t DeviceMemory::reserved_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return reserved_;
}

}  // namespace lamina::core::vulkan
