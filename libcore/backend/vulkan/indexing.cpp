// Vulkan evaluation of indexing primitives: Gather (kernels/vulkan/gather.comp),
// Concatenate and SliceUpdate (strided copies into regions of the output).
#include "libcore/backend/vulkan/kernel_registry.h"
#include "libcore/backend/vulkan/kernel_util.h"
#include "libcore/backend/vulkan/matvec_into.h"
#include "libcore/backend/vulkan/rope.h"
#include "libcore/backend/vulkan/scratch.h"
#include "libcore/backend/vulkan/strided.h"
#include "libcore/ops/indexing_primitives.h"
#include "libcore/ops/slice_update_primitive.h"

namespace lamina::core {

LAMINA_VULKAN_KERNEL(Gather) {
  const Array& a = inputs[0];
  auto t = vulkan::dtype_suffix(a.dtype());
  bool ok = t && (inputs[1].dtype() == Dtype::int32 || inputs[1].dtype() == Dtype::uint32) &&
            a.is_row_contiguous() && a.ndim() > 0 && a.shape(p.axis()) > 0;
  if (!ok) return vulkan::run_on_cpu(p, inputs, out);
  auto& ctx = vulkan::context_of(out);
  // Strided indices (a training batch's inputs are a slice of its tokens) are copied first.
  Array idx;
  vulkan::row_major_on_gpu(ctx, inputs[1], out, idx);
  vulkan::allocate_output(ctx, out);
  if (out.size() == 0) return;
  const int axis = p.axis();
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= a.shape()[d];
  for (int d = axis + 1; d < a.ndim(); ++d) inner *= a.shape()[d];
  const int64_t n = a.shape(axis), count = idx.size();
  uint32_t a_off = 0, i_off = 0;
  auto ba = vulkan::bind(ctx, a, a_off);
  auto bi = vulkan::bind(ctx, idx, i_off);
  auto bo = vulkan::bind_output(ctx, out);
  std::vector<uint32_t> params;
  for (int64_t v : {out.size(), outer, n, count, inner}) params.push_back(static_cast<uint32_t>(v));
  for (int64_t v : {static_cast<int64_t>(a_off), n * inner, inner, int64_t{1}, static_cast<int64_t>(i_off)}) {
    params.push_back(static_cast<uint32_t>(v));
  }
  vulkan::dispatch_elements(ctx, "gather_" + *t + "_" + *vulkan::dtype_suffix(idx.dtype()), 0, params,
                            {ba, bi, bo}, out.size());
}

LAMINA_VULKAN_KERNEL(Concatenate) {
  auto t = vulkan::dtype_suffix(out.dtype());
  for (const auto& in : inputs) {
    if (!t || in.dtype() != out.dtype()) return vulkan::run_on_cpu(p, inputs, out);
  }
  auto& ctx = vulkan::context_of(out);
  vulkan::allocate_output(ctx, out);
  const int axis = p.axis();
  int64_t start = 0;
  for (const auto& in : inputs) {
    vulkan::strided_copy_into(ctx, in, out, out.strides(), start * out.strides()[axis]);
    start += in.shape(axis);
  }
}

LAMINA_VULKAN_KERNEL(SliceUpdate) {
  const Array& dst = inputs[0];
  const auto& rope = p.rope();
  const auto& product = p.product();
  const Shape region_shape = p.region(inputs);
  // The update's dtype: the product's (its output is out's dtype) or the input's.
  const Dtype update_dtype = product ? out.dtype() : inputs[1].dtype();
  auto t = vulkan::dtype_suffix(out.dtype());
  if (!t || update_dtype != out.dtype() || dst.dtype() != out.dtype() ||
      (rope && !vulkan::rope_supported(rope->params(),
                                       p.rope_inputs(inputs, Array(region_shape, update_dtype, nullptr, {}))))) {
    return vulkan::run_on_cpu(p, inputs, out);
  }
  auto& ctx = vulkan::context_of(out);
  // Update in place when the destination is dead (the KV cache's usual case), else copy it.
  vulkan::prepare_output_from(ctx, out, dst);
  bool donated = out.buffer() == dst.buffer();
  if (!donated) vulkan::strided_copy(ctx, dst, out);
  int64_t offset = 0;
  Strides strides(out.ndim());
  for (int d = 0; d < out.ndim(); ++d) {
    offset += p.start()[d] * out.strides()[d];
    strides[d] = out.strides()[d] * p.step()[d];
  }
  Array region = Array::from_buffer(out.buffer(), static_cast<size_t>(offset) * out.itemsize(), region_shape,
                                    strides, out.dtype());
  region.set_device(out.device());
  if (product) {
    // The product's matvec writes (and rotates) the rows into the region itself.
    const std::vector<Array> extra = rope ? p.rope_inputs(inputs, region) : std::vector<Array>();
    const Array* freqs = rope && rope->params().has_freqs ? &extra[1] : nullptr;
    if (vulkan::record_matvec_into(ctx, *product, p.product_inputs(inputs), region, rope ? &rope->params() : nullptr,
                                   freqs)) {
      return;
    }
  }
  // Else the update (the product evaluated into a temporary first), rotated into the region
  // or copied.
  const Array update = p.source_now(inputs, out.device());
  if (rope) {
    vulkan::record_rope(ctx, rope->params(), p.rope_inputs(inputs, update), region);
    return;
  }
  vulkan::strided_copy_into(ctx, update, out, strides, offset);
}

}  // namespace lamina::core
