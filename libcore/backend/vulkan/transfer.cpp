// Host <-> GPU moves of arrays' elements.
#include "libcore/backend/vulkan/transfer.h"

#include <cstring>

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
  auto host = download_span(a, bytes);
  Array node = a;
  node.set_data(std::move(host), 0, a.strides());
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
