// Binding, output allocation and the explicit CPU fallback.
#include "libcore/backend/vulkan/kernel_util.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "libcore/backend/vulkan/device_memory.h"
#include "libcore/backend/vulkan/transfer.h"
#include "libcore/ops/primitive.h"

namespace lamina::core::vulkan {

Context& context_of(const Array& out) { return context(out.device().index); }

BufferBinding bind(Context& ctx, const Array& a, uint32_t& element_offset, bool write) {
  move_to_device(a, ctx.index());
  const auto& alloc = DeviceMemory::allocation(*a.buffer());
  VkDeviceSize start = alloc.offset + a.offset();
  VkDeviceSize align = ctx.binding_alignment();
  VkDeviceSize bind_offset = start / align * align;
  element_offset = static_cast<uint32_t>((start - bind_offset) / a.itemsize());
  BufferBinding b;
  b.buffer = alloc.buffer;
  b.offset = bind_offset;
  b.range = alloc.offset + alloc.size - bind_offset;
  b.write = write;
  return b;
}

BufferBinding bind_output(Context& ctx, const Array& out) {
  uint32_t offset = 0;
  BufferBinding b = bind(ctx, out, offset, true);
  if (offset != 0) throw Error("vulkan: output bound at a non-zero element offset");
  return b;
}

void allocate_output(Context& ctx, Array& out) {
  out.set_data(ctx.memory().allocate(out.nbytes()), 0, row_major_strides(out.shape()));
}

bool can_donate(const Array& in, const Array& out) {
  return in.use_count() == 1 && on_device(in) && in.buffer().use_count() == 1 &&
         in.buffer()->device() == out.device() && in.offset() == 0 &&
         in.itemsize() == out.itemsize() && in.size() == out.size() && in.is_row_contiguous();
}

void prepare_output_from(Context& ctx, Array& out, const Array& in) {
  if (can_donate(in, out)) {
    out.set_data(in.buffer(), 0, row_major_strides(out.shape()));
  } else {
    allocate_output(ctx, out);
  }
}

void prepare_output(Context& ctx, Array& out, const std::vector<Array>& inputs) {
  for (const auto& in : inputs) {
    if (can_donate(in, out)) {
      out.set_data(in.buffer(), 0, row_major_strides(out.shape()));
      return;
    }
  }
  allocate_output(ctx, out);
}

std::optional<std::string> dtype_suffix(Dtype dtype) {
  switch (dtype) {
    case Dtype::float32: return "f32";
    case Dtype::float16: return "f16";
    case Dtype::bfloat16: return "bf16";
    case Dtype::int32: return "i32";
    case Dtype::uint32: return "u32";
    case Dtype::bool_: return "bool";
    default: return std::nullopt;
  }
}

bool use_subgroups(const Context& ctx) {
  const char* env = std::getenv("LAMINA_VULKAN_SUBGROUPS");  // read each time: tests switch it
  return ctx.info().subgroup_arithmetic && !(env && std::string(env) == "0");
}

MatvecTeams matvec_teams(const Context& ctx, bool subgroups, int64_t steps, int64_t outputs, bool gated,
                         uint32_t max_rows, int64_t min_workgroups) {
  MatvecTeams t;
  t.lanes = 1;
  while (t.lanes < 32 && t.lanes < steps) t.lanes *= 2;
  uint32_t team = t.lanes;
  if (subgroups) team = std::clamp<uint32_t>(ctx.info().subgroup_size, 1, kMatvecLocal);
  const uint32_t teams = kMatvecLocal / team, per_output = gated ? 2 : 1;
  t.rows = max_rows;
  while (t.rows > per_output && (outputs * per_output + teams * t.rows - 1) / (teams * t.rows) < min_workgroups) t.rows /= 2;
  t.wg_rows = teams * t.rows / per_output;
  return t;
}

BufferBinding arrival_counters(Context& ctx, const Array& out, int64_t n) {
  struct Ring {
    Array counters;
    VkDeviceSize next = 0;  // bytes
  };
  static std::mutex mutex;
  static std::map<int, Ring> rings;
  std::lock_guard<std::mutex> lock(mutex);
  const VkDeviceSize align = ctx.binding_alignment();
  const VkDeviceSize bytes = (static_cast<VkDeviceSize>(std::max<int64_t>(n, 1)) * 4 + align - 1) / align * align;
  Ring& ring = rings[ctx.index()];
  if (!ring.counters.valid() || static_cast<VkDeviceSize>(ring.counters.nbytes()) < 16 * bytes) {
    const int64_t slots = std::max<int64_t>(int64_t{1} << 16, static_cast<int64_t>(16 * bytes / 4));
    std::vector<uint32_t> zeros(static_cast<size_t>(slots), 0);
    ring.counters = Array::from_bytes(zeros.data(), {slots}, Dtype::uint32);
    ring.counters.set_device(out.device());
    ring.next = 0;
  }
  if (ring.next + bytes > static_cast<VkDeviceSize>(ring.counters.nbytes())) ring.next = 0;
  BufferBinding b = bind_output(ctx, ring.counters);
  b.offset += ring.next;
  b.range = bytes;
  ring.next += bytes;
  return b;
}

uint32_t group_count(int64_t items, uint32_t local) {
  int64_t groups = (items + local - 1) / local;
  if (groups > 65535LL * 1024) throw Error("vulkan: " + std::to_string(items) + " items exceed one dispatch");
  return static_cast<uint32_t>(groups);
}

namespace {
std::atomic<uint64_t> g_fallbacks{0};

// LAMINA_VULKAN_LOG=fallback (or 1) names each primitive the first time it falls back;
// LAMINA_VULKAN_LOG=all names every fallback run.
void log_fallback(const char* name) {
  static const char* env = std::getenv("LAMINA_VULKAN_LOG");
  if (env == nullptr || *env == 0 || std::string(env) == "0") return;
  static std::mutex mutex;
  static std::set<std::string> seen;
  std::lock_guard<std::mutex> lock(mutex);
  if (std::string(env) != "all" && !seen.insert(name).second) return;
  std::cerr << "lamina: vulkan: " << name << " has no Vulkan kernel for these inputs; running it on the CPU\n";
}
}  // namespace

void run_on_cpu(Primitive& primitive, const std::vector<Array>& inputs, Array& out) {
  g_fallbacks.fetch_add(1, std::memory_order_relaxed);
  log_fallback(primitive.name());
  std::vector<Array> host = host_inputs(inputs);
  primitive.eval_cpu(host, out);
}

uint64_t fallback_count() { return g_fallbacks.load(); }

}  // namespace lamina::core::vulkan
