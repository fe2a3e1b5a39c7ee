// Vulkan evaluation of quantizing (kernels/vulkan/affine_quantize.comp): AffineQuantParams
// (MLX's scale and bias per group, one invocation per group) and AffinePack (the codes'
// bit stream, one invocation per 32 codes), bit for bit with the CPU. w: any float dtype,
// any strides; the params AffinePack reads: float32, row-major. Bits and group size are
// specialisation constants.
#include <string>

#include "libcore/backend/vulkan/kernel_registry.h"
#include "libcore/backend/vulkan/kernel_util.h"
#include "libcore/backend/vulkan/strided.h"
#include "quant/quantized_primitives.h"

namespace lamina::core {

namespace {

bool is_float(Dtype d) { return d == Dtype::float32 || d == Dtype::float16 || d == Dtype::bfloat16; }

// strided.glsl's words for w's rows, then `items`, K and w's step along the row.
std::vector<uint32_t> row_params(const Array& w, uint32_t w_off, int64_t items) {
  const Shape outer(w.shape().begin(), w.shape().end() - 1);
  const Strides outer_strides(w.strides().begin(), w.strides().end() - 1);
  auto params = vulkan::strided_params(outer, {outer_strides}, {w_off});
  for (int64_t v : {items, w.shape(-1), w.strides().back()}) params.push_back(static_cast<uint32_t>(v));
  return params;
}

}  // namespace

LAMINA_VULKAN_KERNEL(AffineQuantParams) {
  const Array& w = inputs[0];
  if (!is_float(w.dtype()) || w.ndim() == 0) return vulkan::run_on_cpu(p, inputs, out);
  auto& ctx = vulkan::context_of(out);
  vulkan::allocate_output(ctx, out);
  if (out.size() == 0) return;
  const int64_t groups = w.size() / p.group_size();
  uint32_t w_off = 0;
  auto bw = vulkan::bind(ctx, w, w_off);
  auto bo = vulkan::bind_output(ctx, out);
  vulkan::dispatch_elements(ctx, "affine_quantize_params_" + *vulkan::dtype_suffix(w.dtype()),
                            static_cast<uint32_t>(p.bits()), row_params(w, w_off, groups), {bw, bo}, groups,
                            {static_cast<uint32_t>(p.group_size())});
}

LAMINA_VULKAN_KERNEL(AffinePack) {
  const Array &w = inputs[0], &params = inputs[1];
  if (!is_float(w.dtype()) || w.ndim() == 0 || params.dtype() != Dtype::float32 || !params.is_row_contiguous()) {
    return vulkan::run_on_cpu(p, inputs, out);
  }
  auto& ctx = vulkan::context_of(out);
  vulkan::allocate_output(ctx, out);
  if (out.size() == 0) return;
  const int64_t packs = w.size() / 32;
  uint32_t w_off = 0, params_off = 0;
  auto bw = vulkan::bind(ctx, w, w_off);
  auto bp = vulkan::bind(ctx, params, params_off);
  auto bo = vulkan::bind_output(ctx, out);
  auto words = row_params(w, w_off, packs);
  words.push_back(params_off);
  vulkan::dispatch_elements(ctx, "affine_quantize_pack_" + *vulkan::dtype_suffix(w.dtype()),
                            static_cast<uint32_t>(p.bits()), words, {bw, bp, bo}, packs,
                            {static_cast<uint32_t>(p.group_size())});
}

}  // namespace lamina::core
