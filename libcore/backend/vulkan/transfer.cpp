// Host <-> GPU moves of arrays' elements.
#include "libcore/backend/vulkan/transfer.h"

#include <cstring>
#include <deque>
#include <mutex>
#include <optional>

#include "libcore/backend/vulkan/command_stream.h"
#include "libcore/backend/vulkan/context.h"
#include "libcore/backend/vulkan/device_memory.h"

namespace lamina::core::vulkan {

namespace {

// Elements from element 0 to the last one addressed (strides are never negative).
int64_t span_elements(const Array& a) {
  if (a.size() == 0) return 0;
  int64_t last = 0;
  for (int i = 0; i < a.ndim(); ++i) last += (a.shape()[i] - 1) * a.strides()[i];
  return last + 1;
}

// Copies a's span from the GPU into a fresh host buffer.
std::shared_ptr<Buffer> download_span(const Array& a, size_t bytes) {
  auto host = allocator::malloc(bytes);
  if (bytes == 0) return host;
  const Buffer& buf = *a.buffer();
  Context& ctx = context(buf.device().index);
  const auto& alloc = DeviceMemory::allocation(buf);
  ctx.stream().download(alloc.buffer, alloc.offset + a.offset(), bytes, host->data());
  return host;
}

// Readbacks recorded by prefetch_to_host and not yet read, oldest first.
struct Prefetch {
  std::shared_ptr<Buffer> buffer;  // keeps the GPU buffer (and its address) alive
  size_t offset;
  size_t bytes;
  Context* ctx;
  CommandStream::Readback readback;
};
constexpr size_t kMaxPrefetches = 64;
std::mutex g_prefetch_mutex;
std::deque<Prefetch> g_prefetches;

void retire(Prefetch& p) {
  p.ctx->stream().wait(p.readback.serial);
  p.ctx->memory().give_back_host_chunk(p.readback.chunk);
}

// The prefetched copy of a's span, removed from the list; nullopt when there is none.
std::optional<Prefetch> take_prefetch(const Array& a, size_t bytes) {
  std::lock_guard<std::mutex> lock(g_prefetch_mutex);
  for (auto it = g_prefetches.begin(); it != g_prefetches.end(); ++it) {
    if (it->buffer == a.buffer() && it->offset == a.offset() && it->bytes == bytes) {
      Prefetch p = std::move(*it);
      g_prefetches.erase(it);
      return p;
    }
  }
  return std::nullopt;
}

}  // namespace

bool on_device(const Array& a) {
  return a.buffer() && a.buffer()->device().type == Device::Type::vulkan;
}

void move_to_device(const Array& a, int device) {
  if (on_device(a)) {
    if (a.buffer()->device().index == device) return;
    move_to_host(a);  // GPU to GPU goes through the host
  }
  Context& ctx = context(device);
  size_t bytes = static_cast<size_t>(span_elements(a)) * a.itemsize();
  auto buffer = ctx.memory().allocate(bytes);
  if (bytes > 0) {
    const auto& alloc = DeviceMemory::allocation(*buffer);
    ctx.stream().upload(a.raw_data(), bytes, alloc.buffer, alloc.offset);
  }
  Array node = a;  // a shares the node: every holder sees the move
  node.set_data(std::move(buffer), 0, a.strides());
}

void move_to_host(const Array& a) {
  if (!on_device(a)) return;
  size_t bytes = static_cast<size_t>(span_elements(a)) * a.itemsize();
  std::shared_ptr<Buffer> host;
  if (auto p = take_prefetch(a, bytes)) {
    host = allocator::malloc(bytes);
    p->ctx->stream().wait(p->readback.serial);
    std::memcpy(host->data(), p->readback.chunk.mapped, bytes);
    p->ctx->memory().give_back_host_chunk(p->readback.chunk);
  } else {
    host = download_span(a, bytes);
  }
  Array node = a;
  node.set_data(std::move(host), 0, a.strides());
}

void prefetch_to_host(const Array& a) {
  if (!on_device(a)) return;
  size_t bytes = static_cast<size_t>(span_elements(a)) * a.itemsize();
  if (bytes == 0) return;
  Context& ctx = context(a.buffer()->device().index);
  const auto& alloc = DeviceMemory::allocation(*a.buffer());
  Prefetch p{a.buffer(), a.offset(), bytes, &ctx,
             ctx.stream().readback(alloc.buffer, alloc.offset + a.offset(), bytes)};
  std::lock_guard<std::mutex> lock(g_prefetch_mutex);
  g_prefetches.push_back(std::move(p));
  if (g_prefetches.size() > kMaxPrefetches) {  // never read: stop holding its memory
    retire(g_prefetches.front());
    g_prefetches.pop_front();
  }
}

Array host_copy(const Array& a) {
  size_t bytes = static_cast<size_t>(span_elements(a)) * a.itemsize();
  return Array::from_buffer(download_span(a, bytes), 0, a.shape(), a.strides(), a.dtype());
}

std::vector<Array> host_inputs(const std::vector<Array>& inputs) {
  std::vector<Array> out;
  out.reserve(inputs.size());
  for (const auto& in : inputs) out.push_back(on_device(in) ? host_copy(in) : in);
  return out;
}

void flush_all() {
  for (Context* ctx : created_contexts()) ctx->stream().submit();
}

void synchronize_all() {
  for (Context* ctx : created_contexts()) ctx->stream().synchronize();
}

}  // namespace lamina::core::vulkan
