// CommandStream: records the dispatches and copies of evals into command buffers and
// submits them in batches, inserting a memory barrier only where a command touches a
// range that an earlier, unbarriered command wrote (or writes one it read).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "libcore/array/buffer.h"
#include "libcore/backend/vulkan/device_memory.h"
#include "libcore/backend/vulkan/pipelines.h"
#include "libcore/backend/vulkan/profiler.h"

namespace lamina::core::vulkan {

class Context;

// A storage-buffer binding of a dispatch.
struct BufferBinding {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceSize offset = 0;
  VkDeviceSize range = 0;
  bool write = false;
};

// Bytes [begin, end) of a buffer.
struct BufferRange {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceSize begin = 0, end = 0;
};

// A union of byte ranges, kept as disjoint ranges sorted by (buffer, begin) in one vector:
// an overlap test is a binary search, and nothing is allocated once the vector has grown.
// (The command stream's record of what was read and written since the last barrier.)
class RangeSet {
 public:
  // True when r shares a byte with the set (an empty r shares none).
  bool overlaps(const BufferRange& r) const;
  void add(const BufferRange& r);
  void clear() { ranges_.clear(); }
  size_t size() const { return ranges_.size(); }  // disjoint ranges held

 private:
  std::vector<BufferRange> ranges_;
};

class CommandStream {
 public:
  // Per dispatch, the parameter block included (the gated quantized matvec binds 10 arrays;
  // push descriptors allow at least 32).
  static constexpr uint32_t kMaxBindings = 12;

  explicit CommandStream(Context& ctx);
  ~CommandStream();
  CommandStream(const CommandStream&) = delete;
  CommandStream& operator=(const CommandStream&) = delete;

  // Records pipeline over groups (x, y, z) with `params` (32-bit words) at binding 0 and
  // `buffers` at bindings 1.. (at most kMaxBindings - 1 of them).
  void dispatch(const Pipeline& pipeline, const std::vector<uint32_t>& params,
                const std::vector<BufferBinding>& buffers, uint32_t groups_x,
                uint32_t groups_y = 1, uint32_t groups_z = 1);
  // Records a copy of `bytes` host bytes into dst (staged now, so src may be freed at once).
  void upload(const void* src, VkDeviceSize bytes, VkBuffer dst, VkDeviceSize dst_offset);
  // Records a device-to-device copy.
  void copy(VkBuffer src, VkDeviceSize src_offset, VkBuffer dst, VkDeviceSize dst_offset,
            VkDeviceSize bytes);
  // Copies a device range to host memory: submits what is queued and waits for it.
  void download(VkBuffer src, VkDeviceSize src_offset, VkDeviceSize bytes, void* dst);
  // A copy of a device range into host memory, recorded now: its bytes are valid in
  // `chunk` once wait(serial) has returned. The caller gives the chunk back afterwards.
  struct Readback {
    HostChunk chunk;
    uint64_t serial = 0;
  };
  Readback readback(VkBuffer src, VkDeviceSize src_offset, VkDeviceSize bytes);
  // Waits until the work recorded up to `serial` has completed (submitting it if it is
  // still being recorded); later submissions keep running.
  void wait(uint64_t serial);
  // Submits what is recorded without waiting (the GPU starts while the host goes on).
  void submit();
  // Submits and waits until the GPU has finished everything.
  void synchronize();

  uint64_t dispatches() const { return total_dispatches_; }
  uint64_t submits() const { return total_submits_; }

 private:
  struct Batch {
    VkCommandBuffer prologue = VK_NULL_HANDLE;  // copies this batch's params to the GPU
    VkCommandBuffer commands = VK_NULL_HANDLE;
    VkFence fence = VK_NULL_HANDLE;
    bool recording = false;
    bool in_flight = false;
    std::vector<VkDescriptorPool> pools;
    size_t pool_index = 0;
    uint32_t sets_left = 0;
    HostChunk params_host;
    std::shared_ptr<Buffer> params_device;
    VkDeviceSize params_used = 0;
    std::vector<HostChunk> staging;
    VkDeviceSize staging_used = 0;
    uint32_t dispatch_count = 0;
    VkPipeline bound_pipeline = VK_NULL_HANDLE;  // what `commands` has bound
    uint64_t serial = 0;  // submission number, counted from 1
    std::unique_ptr<DispatchProfiler> profiler;
  };

  Batch& current();  // the recording batch, begun if needed
  void begin(Batch& b);
  void finish(Batch& b);  // waits for b's fence and recycles its resources
  VkDescriptorSet allocate_set(Batch& b, VkDescriptorSetLayout layout);
  // Host-visible staging bytes valid until the batch completes.
  std::pair<const HostChunk*, VkDeviceSize> staging(Batch& b, VkDeviceSize bytes);
  // Inserts a barrier when a read overlaps what the commands since the last barrier wrote,
  // or a write what they read or wrote; then adds these ranges to theirs.
  void hazard(std::span<const BufferRange> reads, std::span<const BufferRange> writes);
  void barrier(VkCommandBuffer cb);

  Context& ctx_;
  VkCommandPool pool_ = VK_NULL_HANDLE;
  std::vector<Batch> batches_;
  size_t current_ = 0;
  RangeSet pending_reads_, pending_writes_;  // since the last barrier
  uint64_t total_dispatches_ = 0;
  uint64_t total_submits_ = 0;  // also the serial of the last submitted batch
};

}  // namespace lamina::core::vulkan
