// Buffer: a block of bytes an evaluated array points into, and the caching allocator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "libcore/array/device.h"

namespace lamina::core {

// A block of memory. Either owned by the allocator (returned to its cache when the last
// reference goes) or borrowed from an owner kept alive alongside (an mmap'd file).
class Buffer {
 public:
  Buffer(void* data, size_t bytes, std::shared_ptr<const void> owner)
      : data_(data), bytes_(bytes), owner_(std::move(owner)) {}
  // A block in a GPU's memory: no host pointer; `owner` is the backend's allocation record.
  Buffer(Device device, size_t bytes, std::shared_ptr<const void> owner)
      : data_(nullptr), bytes_(bytes), owner_(std::move(owner)), device_(device) {}
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  // True when the allocator owns the memory (it may be reused for another array's output).
  bool owned_by_allocator() const { return owner_ == nullptr; }
  // Where the bytes live: the CPU (host memory) or a GPU (then data() is null).
  Device device() const { return device_; }
  const std::shared_ptr<const void>& owner() const { return owner_; }

 private:
  void* data_;
  size_t bytes_;
  std::shared_ptr<const void> owner_;  // null: allocator memory
  Device device_ = Device::cpu();
};

namespace allocator {

// Returns a buffer of at least `bytes` bytes, 64-byte aligned, from the cache when one fits.
std::shared_ptr<Buffer> malloc(size_t bytes);
// Bytes held by live allocator buffers now / at most since the last reset.
size_t active_bytes();
size_t peak_bytes();
void reset_peak();
// Bytes kept in the cache for reuse, and a way to give them back to the system.
size_t cached_bytes();
void clear_cache();

}  // namespace allocator
}  // namespace lamina::core
