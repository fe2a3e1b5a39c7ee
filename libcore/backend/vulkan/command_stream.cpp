// Command recording, batching, hazard barriers and submission.
#include "libcore/backend/vulkan/command_stream.h"

#include <algorithm>
#include <cstring>
#include <functional>

#include "libcore/backend/vulkan/context.h"
#include "libcore/error.h"

namespace lamina::core::vulkan {

namespace {

constexpr size_t kBatches = 6;  // recording + up to 5 in flight (generation runs 2 tokens ahead)
constexpr uint32_t kDispatchesPerBatch = 384;           // submit early so the GPU starts
constexpr VkDeviceSize kParamsBytes = VkDeviceSize{1} << 20;
constexpr uint32_t kSetsPerPool = 512;

// (a, a_pos) sorts before (b, b_pos): by buffer (std::less: handles are unrelated
// pointers), then by position.
bool before(VkBuffer a, VkDeviceSize a_pos, VkBuffer b, VkDeviceSize b_pos) {
  if (a != b) return std::less<VkBuffer>{}(a, b);
  return a_pos < b_pos;
}

}  // namespace

bool RangeSet::overlaps(const BufferRange& r) const {
  if (r.begin >= r.end) return false;
  // Only the last range starting before r ends can reach into r: the ranges are disjoint,
  // so each earlier one ends before that one starts.
  auto after = std::partition_point(ranges_.begin(), ranges_.end(), [&](const BufferRange& x) {
    return before(x.buffer, x.begin, r.buffer, r.end);
  });
  if (after == ranges_.begin()) return false;
  const BufferRange& last = *(after - 1);
  return last.buffer == r.buffer && last.end > r.begin;
}

void RangeSet::add(const BufferRange& r) {
  if (r.begin >= r.end) return;
  // The ranges that overlap or touch r (sorted by end too, being disjoint) merge with it.
  auto first = std::partition_point(ranges_.begin(), ranges_.end(), [&](const BufferRange& x) {
    return before(x.buffer, x.end, r.buffer, r.begin);
  });
  auto last = std::partition_point(first, ranges_.end(), [&](const BufferRange& x) {
    return !before(r.buffer, r.end, x.buffer, x.begin);
  });
  if (first == last) {
    ranges_.insert(first, r);
    return;
  }
  first->begin = std::min(first->begin, r.begin);
  first->end = std::max((last - 1)->end, r.end);
  ranges_.erase(first + 1, last);
}

CommandStream::CommandStream(Context& ctx) : ctx_(ctx) {
  const Api& vk = api();
  VkCommandPoolCreateInfo pi{};
  pi.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
  pi.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pi.queueFamilyIndex = ctx.queue_family();
  check(vk.vkCreateCommandPool(ctx.device(), &pi, nullptr, &pool_), "vkCreateCommandPool");
  batches_.resize(kBatches);
  for (auto& b : batches_) {
    VkCommandBuffer cbs[2];
    VkCommandBufferAllocateInfo ai{};
    ai.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
    ai.commandPool = pool_;
    ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ai.commandBufferCount = 2;
    check(vk.vkAllocateCommandBuffers(ctx.device(), &ai, cbs), "vkAllocateCommandBuffers");
    b.prologue = cbs[0];
    b.commands = cbs[1];
    VkFenceCreateInfo fi{};
    fi.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
    check(vk.vkCreateFence(ctx.device(), &fi, nullptr, &b.fence), "vkCreateFence");
    b.profiler = std::make_unique<DispatchProfiler>(ctx, kDispatchesPerBatch);
  }
}

CommandStream::~CommandStream() = default;  // contexts live until exit; see context.h

void CommandStream::barrier(VkCommandBuffer cb) {
  VkMemoryBarrier mb{};
  mb.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
  mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT |
                     VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT;
  mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                     VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  VkPipelineStageFlags stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
  batches_[current_].profiler->boundary(cb);
  api().vkCmdPipelineBarrier(cb, stages, stages, 0, 1, &mb, 0, nullptr, 0, nullptr);
  pending_reads_.clear();
  pending_writes_.clear();
}

void CommandStream::begin(Batch& b) {
  const Api& vk = api();
  VkCommandBufferBeginInfo bi{};
  bi.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  check(vk.vkBeginCommandBuffer(b.commands, &bi), "vkBeginCommandBuffer");
  if (!b.params_device) {
    b.params_host = ctx_.memory().take_host_chunk(kParamsBytes);
    b.params_device = ctx_.memory().allocate(kParamsBytes);
  }
  b.recording = true;
  b.params_used = 0;
  b.staging_used = 0;
  b.dispatch_count = 0;
  b.bound_pipeline = VK_NULL_HANDLE;
  b.profiler->begin(b.commands);
  // Orders this batch after everything submitted before it (and after its own prologue).
  barrier(b.commands);
}

CommandStream::Batch& CommandStream::current() {
  Batch& b = batches_[current_];
  if (b.recording) return b;
  if (b.in_flight) finish(b);
  begin(b);
  return b;
}

void CommandStream::finish(Batch& b) {
  const Api& vk = api();
  if (!b.in_flight) return;
  VkResult r;
  {
    HostTimer timer("waiting for the GPU");
    WaitCpuTimer cpu_timer;
    r = vk.vkWaitForFences(ctx_.device(), 1, &b.fence, VK_TRUE, UINT64_MAX);
  }
  check(r, "vkWaitForFences");
  check(vk.vkResetFences(ctx_.device(), 1, &b.fence), "vkResetFences");
  b.in_flight = false;
  b.profiler->collect();
  for (auto pool : b.pools) vk.vkResetDescriptorPool(ctx_.device(), pool, 0);
  b.pool_index = 0;
  b.sets_left = b.pools.empty() ? 0 : kSetsPerPool;
  for (const auto& c : b.staging) ctx_.memory().give_back_host_chunk(c);
  b.staging.clear();
  vk.vkResetCommandBuffer(b.commands, 0);
  vk.vkResetCommandBuffer(b.prologue, 0);
}

VkDescriptorSet CommandStream::allocate_set(Batch& b, VkDescriptorSetLayout layout) {
  const Api& vk = api();
  if (b.sets_left == 0) {
    if (b.pools.empty() || b.pool_index + 1 >= b.pools.size()) {
      VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kSetsPerPool * kMaxBindings};
      VkDescriptorPoolCreateInfo ci{};
      ci.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO;
      ci.maxSets = kSetsPerPool;
      ci.poolSizeCount = 1;
      ci.pPoolSizes = &size;
      VkDescriptorPool pool = VK_NULL_HANDLE;
      check(vk.vkCreateDescriptorPool(ctx_.device(), &ci, nullptr, &pool), "vkCreateDescriptorPool");
      b.pools.push_back(pool);
      b.pool_index = b.pools.size() - 1;
    } else {
      b.pool_index += 1;
    }
    b.sets_left = kSetsPerPool;
  }
  VkDescriptorSetAllocateInfo ai{};
  ai.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO;
  ai.descriptorPool = b.pools[b.pool_index];
  ai.descriptorSetCount = 1;
  ai.pSetLayouts = &layout;
  VkDescriptorSet set = VK_NULL_HANDLE;
  check(vk.vkAllocateDescriptorSets(ctx_.device(), &ai, &set), "vkAllocateDescriptorSets");
  b.sets_left -= 1;
  return set;
}

std::pair<const HostChunk*, VkDeviceSize> CommandStream::staging(Batch& b, VkDeviceSize bytes) {
  VkDeviceSize aligned = (b.staging_used + 255) / 256 * 256;
  if (b.staging.empty() || aligned + bytes > b.staging.back().size) {
    b.staging.push_back(ctx_.memory().take_host_chunk(bytes));
    aligned = 0;
  }
  b.staging_used = aligned + bytes;
  return {&b.staging.back(), aligned};
}

void CommandStream::hazard(std::span<const BufferRange> reads, std::span<const BufferRange> writes) {
  bool needed = false;
  for (const auto& r : reads) needed = needed || pending_writes_.overlaps(r);
  for (const auto& w : writes) {
    needed = needed || pending_writes_.overlaps(w) || pending_reads_.overlaps(w);
  }
  if (needed) barrier(batches_[current_].commands);
  for (const auto& r : reads) pending_reads_.add(r);
  for (const auto& w : writes) pending_writes_.add(w);
}

void CommandStream::dispatch(const Pipeline& pipeline, const std::vector<uint32_t>& params,
                             const std::vector<BufferBinding>& buffers, uint32_t groups_x,
                             uint32_t groups_y, uint32_t groups_z) {
  if (buffers.size() + 1 != pipeline.bindings) {
    throw Error("vulkan: dispatch with " + std::to_string(buffers.size()) +
                " buffers for a pipeline of " + std::to_string(pipeline.bindings - 1));
  }
  if (pipeline.bindings > kMaxBindings) {
    throw Error("vulkan: a dispatch binds at most " + std::to_string(kMaxBindings - 1) + " arrays");
  }
  if (groups_x == 0 || groups_y == 0 || groups_z == 0) return;
  HostTimer timer("recording a dispatch");
  const uint32_t max_groups = ctx_.limits().maxComputeWorkGroupCount[0];
  if (groups_x > max_groups) throw Error("vulkan: dispatch of " + std::to_string(groups_x) + " groups exceeds the device limit");
  const Api& vk = api();
  Batch* b = &current();
  VkDeviceSize param_bytes = std::max<VkDeviceSize>(4, params.size() * 4);
  VkDeviceSize align = ctx_.binding_alignment();
  VkDeviceSize param_offset = (b->params_used + align - 1) / align * align;
  if (param_offset + param_bytes > kParamsBytes || b->dispatch_count >= kDispatchesPerBatch) {
    submit();
    b = &current();
    param_offset = 0;
  }
  if (!params.empty()) std::memcpy(b->params_host.mapped + param_offset, params.data(), params.size() * 4);
  b->params_used = param_offset + param_bytes;

  // Fixed-size arrays: recording a dispatch allocates nothing.
  BufferRange reads[kMaxBindings], writes[kMaxBindings];
  size_t read_count = 0, write_count = 0;
  for (const auto& buf : buffers) {
    BufferRange r{buf.buffer, buf.offset, buf.offset + buf.range};
    if (buf.write) {
      writes[write_count++] = r;
    } else {
      reads[read_count++] = r;
    }
  }
  hazard({reads, read_count}, {writes, write_count});

  const uint32_t count = pipeline.bindings;
  const auto& params_alloc = DeviceMemory::allocation(*b->params_device);
  VkDescriptorBufferInfo infos[kMaxBindings];
  infos[0] = {params_alloc.buffer, params_alloc.offset + param_offset, param_bytes};
  for (size_t i = 0; i < buffers.size(); ++i) {
    infos[i + 1] = {buffers[i].buffer, buffers[i].offset, buffers[i].range};
  }
  VkWriteDescriptorSet w[kMaxBindings];
  for (uint32_t i = 0; i < count; ++i) {
    w[i] = {};
    w[i].sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
    w[i].dstBinding = i;
    w[i].descriptorCount = 1;
    w[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    w[i].pBufferInfo = &infos[i];
  }
  if (b->bound_pipeline != pipeline.pipeline) {
    vk.vkCmdBindPipeline(b->commands, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.pipeline);
    b->bound_pipeline = pipeline.pipeline;
  }
  if (pipeline.push_descriptors) {
    // The bindings go into the command buffer itself: no set to allocate, write and bind.
    ctx_.extension_api().vkCmdPushDescriptorSetKHR(b->commands, VK_PIPELINE_BIND_POINT_COMPUTE,
                                                   pipeline.layout, 0, count, w);
  } else {
    VkDescriptorSet set = allocate_set(*b, pipeline.set_layout);
    for (uint32_t i = 0; i < count; ++i) w[i].dstSet = set;
    vk.vkUpdateDescriptorSets(ctx_.device(), count, w, 0, nullptr);
    vk.vkCmdBindDescriptorSets(b->commands, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.layout, 0, 1,
                               &set, 0, nullptr);
  }
  b->profiler->before_dispatch(b->commands, pipeline.shader);
  vk.vkCmdDispatch(b->commands, groups_x, groups_y, groups_z);
  b->profiler->after_dispatch(b->commands);
  b->dispatch_count += 1;
  total_dispatches_ += 1;
}

void CommandStream::upload(const void* src, VkDeviceSize bytes, VkBuffer dst, VkDeviceSize dst_offset) {
  if (bytes == 0) return;
  Batch& b = current();
  auto [chunk, offset] = staging(b, bytes);
  std::memcpy(chunk->mapped + offset, src, bytes);
  const BufferRange written{dst, dst_offset, dst_offset + bytes};
  hazard({}, {&written, 1});
  b.profiler->copy("upload");
  VkBufferCopy region{offset, dst_offset, bytes};
  api().vkCmdCopyBuffer(b.commands, chunk->buffer, dst, 1, &region);
}

void CommandStream::copy(VkBuffer src, VkDeviceSize src_offset, VkBuffer dst,
                         VkDeviceSize dst_offset, VkDeviceSize bytes) {
  if (bytes == 0) return;
  Batch& b = current();
  const BufferRange read{src, src_offset, src_offset + bytes}, written{dst, dst_offset, dst_offset + bytes};
  hazard({&read, 1}, {&written, 1});
  b.profiler->copy("copy");
  VkBufferCopy region{src_offset, dst_offset, bytes};
  api().vkCmdCopyBuffer(b.commands, src, dst, 1, &region);
}

CommandStream::Readback CommandStream::readback(VkBuffer src, VkDeviceSize src_offset,
                                                VkDeviceSize bytes) {
  Batch& b = current();
  // A chunk of its own: the batch's staging is recycled when the batch completes.
  Readback r{ctx_.memory().take_host_chunk(bytes), total_submits_ + 1};
  const BufferRange read{src, src_offset, src_offset + bytes};
  hazard({&read, 1}, {});
  b.profiler->copy("readback");
  VkBufferCopy region{src_offset, 0, bytes};
  api().vkCmdCopyBuffer(b.commands, src, r.chunk.buffer, 1, &region);
  // Make the copy visible to host reads after the fence.
  VkMemoryBarrier mb{};
  mb.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
  mb.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
  api().vkCmdPipelineBarrier(b.commands, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT,
                             0, 1, &mb, 0, nullptr, 0, nullptr);
  return r;
}

void CommandStream::wait(uint64_t serial) {
  if (serial > total_submits_) submit();
  for (auto& b : batches_) {
    if (b.in_flight && b.serial <= serial) finish(b);
  }
}

void CommandStream::download(VkBuffer src, VkDeviceSize src_offset, VkDeviceSize bytes, void* dst) {
  if (bytes == 0) return;
  Readback r = readback(src, src_offset, bytes);
  try {
    wait(r.serial);
  } catch (...) {
    ctx_.memory().give_back_host_chunk(r.chunk);
    throw;
  }
  std::memcpy(dst, r.chunk.mapped, bytes);
  ctx_.memory().give_back_host_chunk(r.chunk);
}

void CommandStream::submit() {
  Batch& b = batches_[current_];
  if (!b.recording) return;
  const Api& vk = api();
  b.profiler->boundary(b.commands);
  check(vk.vkEndCommandBuffer(b.commands), "vkEndCommandBuffer");
  // The prologue moves this batch's parameter words into device memory.
  VkCommandBufferBeginInfo bi{};
  bi.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  check(vk.vkBeginCommandBuffer(b.prologue, &bi), "vkBeginCommandBuffer");
  if (b.params_used > 0) {
    const auto& dst = DeviceMemory::allocation(*b.params_device);
    VkBufferCopy region{0, dst.offset, b.params_used};
    vk.vkCmdCopyBuffer(b.prologue, b.params_host.buffer, dst.buffer, 1, &region);
  }
  check(vk.vkEndCommandBuffer(b.prologue), "vkEndCommandBuffer");
  VkCommandBuffer cbs[2] = {b.prologue, b.commands};
  VkSubmitInfo si{};
  si.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
  si.commandBufferCount = 2;
  si.pCommandBuffers = cbs;
  {
    HostTimer timer("vkQueueSubmit");
    check(vk.vkQueueSubmit(ctx_.queue(), 1, &si, b.fence), "vkQueueSubmit");
  }
  b.recording = false;
  b.in_flight = true;
  total_submits_ += 1;
  b.serial = total_submits_;
  pending_reads_.clear();
  pending_writes_.clear();
  current_ = (current_ + 1) % batches_.size();
  ctx_.pipelines().save();
}

void CommandStream::synchronize() {
  submit();
  for (auto& b : batches_) finish(b);
}

}  // namespace lamina::core::vulkan
