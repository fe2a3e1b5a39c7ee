// Host side of kernels/vulkan/strided.glsl: parameter words for strided operands, a
// one-dimensional launch over elements, and the strided converting copy.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "libcore/array/array.h"
#include "libcore/backend/vulkan/kernel_util.h"

namespace lamina::core::vulkan {

// strided.glsl's words for operands of one logical shape (dims merged where every
// operand allows it, size-1 dims dropped).
std::vector<uint32_t> strided_params(const Shape& shape, const std::vector<Strides>& strides,
                                     const std::vector<uint32_t>& offsets);
// strided.glsl's words for the lanes of an op along `axis` (cumsum, sort): every dim of in
// but the axis, with in's and out's strides, in's binding offset `in_offset`.
std::vector<uint32_t> lane_params(const Array& in, const Array& out, int axis, uint32_t in_offset);
// Dispatches one invocation per element (workgroups of 256, 2-D grid when large). The
// specialisation constants are the workgroup size, op, then `more_constants`.
void dispatch_elements(Context& ctx, const std::string& shader, uint32_t op,
                       const std::vector<uint32_t>& params,
                       const std::vector<BufferBinding>& buffers, int64_t elements,
                       const std::vector<uint32_t>& more_constants = {});
// Copies in (any strides) into `dst`, a GPU array viewed with its own strides and offset,
// converting the dtype. False (and nothing recorded) when no variant exists.
bool strided_copy(Context& ctx, const Array& in, const Array& dst);
// Same, writing into a strided region: dst_shape/dst_strides/dst_offset (elements) of the
// GPU array `dst`.
bool strided_copy_into(Context& ctx, const Array& in, const Array& dst, const Strides& dst_strides,
                       int64_t dst_offset);

}  // namespace lamina::core::vulkan
