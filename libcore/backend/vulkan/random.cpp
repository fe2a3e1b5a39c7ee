// Vulkan evaluation of the random primitives (kernels/vulkan/random.comp): the same
// Threefry-2x32 words as the CPU for the same key, so a seed gives the same numbers on
// either device.
#include <limits>

#include "libcore/backend/vulkan/kernel_registry.h"
#include "libcore/backend/vulkan/kernel_util.h"
#include "libcore/backend/vulkan/strided.h"
#include "libcore/ops/random_primitives.h"

namespace lamina::core {

namespace {

// Records random.comp's `variant` filling out from key (uint32[2], any stride).
void launch_stream(const std::string& variant, const Array& key, Array& out) {
  auto& ctx = vulkan::context_of(out);
  vulkan::allocate_output(ctx, out);
  if (out.size() == 0) return;
  uint32_t key_off = 0;
  auto k = vulkan::bind(ctx, key, key_off);
  auto o = vulkan::bind_output(ctx, out);
  std::vector<uint32_t> params{static_cast<uint32_t>(out.size()), key_off,
                               static_cast<uint32_t>(key.strides()[0])};
  vulkan::dispatch_elements(ctx, variant, 0, params, {k, o}, (out.size() + 1) / 2);
}

// The kernel counts words in 32 bits (the CPU's counter reaches further).
bool fits(const std::vector<Array>& inputs, const Array& out) {
  return inputs[0].dtype() == Dtype::uint32 && inputs[0].strides()[0] >= 0 &&
         out.size() < std::numeric_limits<uint32_t>::max();
}

}  // namespace

LAMINA_VULKAN_KERNEL(RandomBits) {
  if (!fits(inputs, out)) return vulkan::run_on_cpu(p, inputs, out);
  launch_stream("random_bits", inputs[0], out);
}

LAMINA_VULKAN_KERNEL(RandomUnit) {
  if (!fits(inputs, out)) return vulkan::run_on_cpu(p, inputs, out);
  launch_stream("random_unit", inputs[0], out);
}

}  // namespace lamina::core
