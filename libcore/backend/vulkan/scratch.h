// Temporary GPU arrays for kernels that need working storage (sort keys, row-major copies
// of strided operands). Dropping one after recording is safe: a later command that reuses
// its range is ordered after the reads by the command stream's hazard barriers.
#pragma once

#include "libcore/array/array.h"
#include "libcore/backend/vulkan/device_memory.h"
#include "libcore/backend/vulkan/kernel_util.h"
#include "libcore/backend/vulkan/strided.h"

namespace lamina::core::vulkan {

// A fresh row-major GPU array of `shape` and `dtype` on the device of `device_of`.
inline Array scratch_array(Context& ctx, const Array& device_of, const Shape& shape, Dtype dtype) {
  size_t bytes = static_cast<size_t>(shape_size(shape)) * size_of(dtype);
  Array a = Array::from_buffer(ctx.memory().allocate(bytes > 0 ? bytes : 4), 0, shape,
                               row_major_strides(shape), dtype);
  a.set_device(device_of.device());
  return a;
}

// `a` itself when it is row-major, else a row-major GPU copy (false when no copy variant
// exists for a's dtype).
inline bool row_major_on_gpu(Context& ctx, const Array& a, const Array& device_of, Array& result) {
  if (a.is_row_contiguous()) {
    result = a;
    return true;
  }
  if (!dtype_suffix(a.dtype())) return false;
  result = scratch_array(ctx, device_of, a.shape(), a.dtype());
  return strided_copy(ctx, a, result);
}

// An optional operand of a product kernel as the kernel reads it: the addend c
// (kernels/vulkan/addend.glsl) or a folded norm's weight (norm.glsl), row-major on the GPU
// (`held`: a copy when the operand is strided), its binding and the element offset of its
// element 0. Absent, `binding` is the kernel's `dummy` (a specialisation constant keeps it
// unread) and the offset 0.
struct OptionalOperand {
  Array held;
  BufferBinding binding;
  uint32_t offset = 0;
};
// Binds `operand` (nullptr: absent) into o; false when it has no copy variant for its dtype.
inline bool bind_optional(Context& ctx, const Array* operand, const Array& out, const BufferBinding& dummy,
                          OptionalOperand& o) {
  o.binding = dummy;
  if (!operand) return true;
  if (!row_major_on_gpu(ctx, *operand, out, o.held)) return false;
  o.binding = bind(ctx, o.held, o.offset);
  return true;
}

}  // namespace lamina::core::vulkan
