// Vulkan evaluation of CrossEntropy and CrossEntropyGrad (kernels/vulkan/cross_entropy.comp):
// one workgroup per logits row, any strides, float logits, int32/uint32 targets. A target
// outside the vocabulary gives NaN where the CPU throws (a kernel cannot).
#include <algorithm>
#include <optional>
#include <string>

#include "libcore/backend/vulkan/kernel_registry.h"
#include "libcore/backend/vulkan/kernel_util.h"
#include "libcore/backend/vulkan/strided.h"
#include "libcore/ops/fast_primitives.h"

namespace lamina::core {

namespace {

constexpr uint32_t kRowLocal = 256;  // a power of two, at most 1024 (rows.glsl's scratch)

bool is_float(Dtype d) { return d == Dtype::float32 || d == Dtype::float16 || d == Dtype::bfloat16; }

// The shader variant's "<logits>_<targets>" suffix, if the kernel takes these dtypes.
std::optional<std::string> variant_of(const Array& logits, const Array& targets) {
  if (!is_float(logits.dtype()) || logits.ndim() == 0 || logits.shape(-1) == 0) return std::nullopt;
  if (targets.dtype() != Dtype::int32 && targets.dtype() != Dtype::uint32) return std::nullopt;
  return *vulkan::dtype_suffix(logits.dtype()) + "_" + *vulkan::dtype_suffix(targets.dtype());
}

// Records `shader` over the rows of logits: operands logits (row strides), targets, the
// extra `operands` (row strides each) with their offsets, then n and logits' row step.
void dispatch_rows(vulkan::Context& ctx, const std::string& shader, const Array& logits, const Array& targets,
                   std::vector<Strides> strides, std::vector<uint32_t> offsets,
                   std::vector<vulkan::BufferBinding> buffers) {
  const Shape outer(logits.shape().begin(), logits.shape().end() - 1);
  uint32_t x_off = 0, t_off = 0;
  auto bx = vulkan::bind(ctx, logits, x_off);
  auto bt = vulkan::bind(ctx, targets, t_off);
  strides.insert(strides.begin(), {Strides(logits.strides().begin(), logits.strides().end() - 1), targets.strides()});
  offsets.insert(offsets.begin(), {x_off, t_off});
  buffers.insert(buffers.begin(), {bx, bt});
  auto params = vulkan::strided_params(outer, strides, offsets);
  params.push_back(static_cast<uint32_t>(logits.shape(-1)));
  params.push_back(static_cast<uint32_t>(logits.strides().back()));
  const auto& pipeline = ctx.pipelines().get(shader, static_cast<uint32_t>(buffers.size() + 1), {kRowLocal});
  const auto rows = static_cast<uint32_t>(shape_size(outer));
  const uint32_t gx = std::min<uint32_t>(rows, 65535), gy = (rows + gx - 1) / gx;
  ctx.stream().dispatch(pipeline, params, buffers, gx, gy);
}

}  // namespace

LAMINA_VULKAN_KERNEL(CrossEntropy) {
  const auto variant = variant_of(inputs[0], inputs[1]);
  if (!variant) return vulkan::run_on_cpu(p, inputs, out);
  auto& ctx = vulkan::context_of(out);
  vulkan::allocate_output(ctx, out);
  if (out.size() == 0) return;
  auto bo = vulkan::bind_output(ctx, out);
  dispatch_rows(ctx, "cross_entropy_" + *variant, inputs[0], inputs[1], {out.strides()}, {0}, {bo});
}

LAMINA_VULKAN_KERNEL(CrossEntropyGrad) {
  const auto variant = variant_of(inputs[0], inputs[1]);
  const Array& g = inputs[2];
  if (!variant || g.dtype() != Dtype::float32) return vulkan::run_on_cpu(p, inputs, out);
  auto& ctx = vulkan::context_of(out);
  // Safe in place: each invocation reads its elements before writing them.
  vulkan::prepare_output_from(ctx, out, inputs[0]);
  if (out.size() == 0) return;
  uint32_t g_off = 0;
  auto bg = vulkan::bind(ctx, g, g_off);
  auto bo = vulkan::bind_output(ctx, out);
  const Strides out_rows(out.strides().begin(), out.strides().end() - 1);
  dispatch_rows(ctx, "cross_entropy_grad_" + *variant, inputs[0], inputs[1], {g.strides(), out_rows}, {g_off, 0},
                {bg, bo});
}

}  // namespace lamina::core
