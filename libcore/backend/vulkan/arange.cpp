// Vulkan evaluation of Arange (kernels/vulkan/arange.comp) for integer starts and steps
// whose values are all exact in the output dtype; other aranges (fractional steps, whose
// double-precision rounding the kernel does not reproduce) run on the CPU.
#include <cmath>

#include "libcore/backend/vulkan/kernel_registry.h"
#include "libcore/backend/vulkan/kernel_util.h"
#include "libcore/backend/vulkan/strided.h"
#include "libcore/ops/creation_primitives.h"

namespace lamina::core {

namespace {

// True when every value start + i * step (i < count) is an integer exact in dtype.
bool exact_integers(double start, double step, int64_t count, Dtype dtype) {
  if (start != std::floor(start) || step != std::floor(step) || count >= (int64_t{1} << 32)) return false;
  const double last = start + static_cast<double>(count - 1) * step;
  double lo = 0, hi = 0;
  switch (dtype) {
    case Dtype::float32:
    case Dtype::float16:
    case Dtype::bfloat16: lo = -16777216.0, hi = 16777216.0; break;
    case Dtype::int32: lo = -2147483648.0, hi = 2147483647.0; break;
    case Dtype::uint32: lo = 0.0, hi = 4294967295.0; break;
    default: return false;
  }
  return start >= lo && start <= hi && last >= lo && last <= hi && std::abs(step) <= 4294967295.0;
}

// v modulo 2^32 (v an integer of magnitude below 2^53).
uint32_t low_word(double v) { return static_cast<uint32_t>(static_cast<uint64_t>(static_cast<int64_t>(v))); }

}  // namespace

LAMINA_VULKAN_KERNEL(Arange) {
  auto t = vulkan::dtype_suffix(out.dtype());
  if (out.size() > 0 && (!t || !exact_integers(p.start(), p.step(), out.size(), out.dtype()))) {
    return vulkan::run_on_cpu(p, inputs, out);
  }
  auto& ctx = vulkan::context_of(out);
  vulkan::allocate_output(ctx, out);
  if (out.size() == 0) return;
  auto o = vulkan::bind_output(ctx, out);
  std::vector<uint32_t> params{static_cast<uint32_t>(out.size()), low_word(p.start()), low_word(p.step())};
  vulkan::dispatch_elements(ctx, "arange_" + *t, 0, params, {o}, out.size());
}

}  // namespace lamina::core
