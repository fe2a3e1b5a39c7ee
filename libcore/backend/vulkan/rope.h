// The rope kernel (kernels/vulkan/rope.comp) as a function: the Rope primitive writes its
// own output with it, SliceUpdate with a rope writes a region of its output (a KV cache).
// The attention with a folded rope rotates q itself from the same inv_freq table.
#pragma once

#include <cstdint>
#include <vector>

#include "libcore/array/array.h"
#include "libcore/backend/vulkan/context.h"
#include "libcore/ops/fast_primitives.h"

namespace lamina::core::vulkan {

// True when record_rope handles these Rope inputs ({x, [freqs], [offset]}); otherwise the
// caller runs its primitive on the CPU.
bool rope_supported(const Rope::Params& params, const std::vector<Array>& inputs);
// Records rope(inputs) into dst: a GPU array of x's shape and dtype, any strides and
// offset (a view of a region of a larger buffer).
void record_rope(Context& ctx, const Rope::Params& params, const std::vector<Array>& inputs, const Array& dst);
// Appends the kernels' inv_freq table: per rotated pair i, the float32 bits of
// base^(-2i / dims) (0 with freqs, where the kernels take 1 / freqs[i] instead). rope.comp
// and the attention kernels that rotate q as they load it (sdpa_rope.glsl) read it.
void push_inv_freqs(std::vector<uint32_t>& params, const Rope::Params& params_of_rope);

}  // namespace lamina::core::vulkan
