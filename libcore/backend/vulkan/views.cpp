// Vulkan evaluation of view primitives. Views share the input's GPU buffer (the input is
// moved to the GPU first, so a weight viewed every step is uploaded once); AsType, Copy
// and reshapes that cannot be views run the strided copy kernel.
#include "libcore/backend/vulkan/kernel_registry.h"
#include "libcore/backend/vulkan/kernel_util.h"
#include "libcore/backend/vulkan/strided.h"
#include "libcore/backend/vulkan/transfer.h"
#include "libcore/ops/view_primitives.h"

namespace lamina::core {

namespace {
// Moves the input to out's GPU, then lets the CPU code compute the view (it only sets
// offset and strides, which mean the same on either device).
template <typename P>
void view_on_device(P& primitive, const std::vector<Array>& inputs, Array& out) {
  vulkan::move_to_device(inputs[0], out.device().index);
  primitive.eval_cpu(inputs, out);
}
}  // namespace

LAMINA_VULKAN_KERNEL(Transpose) { view_on_device(p, inputs, out); }
LAMINA_VULKAN_KERNEL(Slice) { view_on_device(p, inputs, out); }
LAMINA_VULKAN_KERNEL(Broadcast) { view_on_device(p, inputs, out); }
LAMINA_VULKAN_KERNEL(StopGradient) { view_on_device(p, inputs, out); }

LAMINA_VULKAN_KERNEL(Reshape) {
  const Array& in = inputs[0];
  auto& ctx = vulkan::context_of(out);
  vulkan::move_to_device(in, ctx.index());
  if (in.is_row_contiguous()) {
    out.share(in, in.offset(), row_major_strides(out.shape()));
    return;
  }
  if (!vulkan::dtype_suffix(in.dtype())) return vulkan::run_on_cpu(p, inputs, out);
  vulkan::allocate_output(ctx, out);
  // Copy in's elements in row-major order: view out's buffer with in's shape.
  Array view = Array::from_buffer(out.buffer(), 0, in.shape(), row_major_strides(in.shape()), out.dtype());
  vulkan::strided_copy(ctx, in, view);
}

LAMINA_VULKAN_KERNEL(AsType) {
  auto& ctx = vulkan::context_of(out);
  if (!vulkan::dtype_suffix(inputs[0].dtype()) || !vulkan::dtype_suffix(out.dtype())) {
    return vulkan::run_on_cpu(p, inputs, out);
  }
  vulkan::prepare_output(ctx, out, inputs);
  vulkan::strided_copy(ctx, inputs[0], out);
}

LAMINA_VULKAN_KERNEL(Copy) {
  auto& ctx = vulkan::context_of(out);
  if (!vulkan::dtype_suffix(inputs[0].dtype())) return vulkan::run_on_cpu(p, inputs, out);
  vulkan::allocate_output(ctx, out);
  vulkan::strided_copy(ctx, inputs[0], out);
}

}  // namespace lamina::core
