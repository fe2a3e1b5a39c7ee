// The per-type table of Vulkan kernels.
#include "libcore/backend/vulkan/kernel_registry.h"

#include <unordered_map>

#include "libcore/backend/vulkan/kernel_util.h"
#include "libcore/backend/vulkan/profiler.h"
#include "libcore/ops/primitive.h"

namespace lamina::core::vulkan {

namespace {
std::unordered_map<std::type_index, KernelFn>& table() {
  static std::unordered_map<std::type_index, KernelFn> kernels;
  return kernels;
}
}  // namespace

bool register_kernel(std::type_index type, KernelFn fn) {
  table()[type] = fn;
  return true;
}

bool has_kernel(std::type_index type) { return table().count(type) > 0; }

void run_registered(Primitive& primitive, const std::vector<Array>& inputs, Array& out) {
  HostTimer timer("kernels' host side");
  auto it = table().find(typeid(primitive));
  if (it == table().end()) return run_on_cpu(primitive, inputs, out);
  it->second(primitive, inputs, out);
}

}  // namespace lamina::core::vulkan
