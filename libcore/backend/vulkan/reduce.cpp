// Vulkan evaluation of Reduce and ArgReduce (kernels/vulkan/reduce.comp): the input is
// split by strides into kept (outer) and reduced dims, no copy. Many short reductions run
// one per invocation; the others one per workgroup, combined through subgroup arithmetic
// where the device has it, else shared memory; a few long ones (the sampler's argmax and
// max over a vocabulary) over several workgroups each, the last to finish combining them.
#include <algorithm>
#include <optional>
#include <string>

#include "libcore/backend/vulkan/kernel_registry.h"
#include "libcore/backend/vulkan/kernel_util.h"
#include "libcore/backend/vulkan/scratch.h"
#include "libcore/backend/vulkan/strided.h"
#include "libcore/ops/reduce_primitives.h"

namespace lamina::core {

namespace {

constexpr uint32_t kLocal = 256;  // a power of two, at most 1024 (reduce.comp's scratch)
// Workgroups per output for few long runs: one per 4 * kLocal elements, at most kMaxSplits.
// (H200: an argmax over 32000 logits took 51 us in one workgroup, a dispatch floor is ~4.)
constexpr int64_t kMaxSplitOutputs = 64, kMaxSplits = 64;

// reduce.comp's variant for Reduce of `in` into `out` (dtype suffixes), if there is one.
std::optional<std::string> reduce_variant(Dtype in, Dtype out) {
  auto i = vulkan::dtype_suffix(in), o = vulkan::dtype_suffix(out);
  if (!i || !o) return std::nullopt;
  if (in == out || (in == Dtype::bool_ && out == Dtype::int32)) return "reduce_" + *i + "_" + *o;
  return std::nullopt;
}

// Records reduce.comp's `shader` (without the subgroup suffix) with OP `op` over the
// sorted `axes` of in into out (row-major, allocated here).
void launch(vulkan::Context& ctx, const std::string& shader, uint32_t op, const Array& in,
            const std::vector<int>& axes, Array& out) {
  vulkan::allocate_output(ctx, out);
  if (out.size() == 0) return;
  Shape outer, inner;
  Strides outer_strides, inner_strides;
  for (int d = 0; d < in.ndim(); ++d) {
    bool reduced = std::find(axes.begin(), axes.end(), d) != axes.end();
    (reduced ? inner : outer).push_back(in.shape()[d]);
    (reduced ? inner_strides : outer_strides).push_back(in.strides()[d]);
  }
  const int64_t n_out = out.size(), n_in = shape_size(inner);
  uint32_t in_off = 0;
  auto src = vulkan::bind(ctx, in, in_off);
  auto dst = vulkan::bind_output(ctx, out);
  auto params = vulkan::strided_params(outer, {outer_strides}, {in_off});
  auto reduced = vulkan::strided_params(inner, {inner_strides}, {0});
  params.insert(params.end(), reduced.begin(), reduced.end());
  // One invocation per output when the runs are short, or when they are strided and
  // there are enough outputs to fill the GPU (neighbouring invocations then read
  // neighbouring elements).
  const bool unit_stride = inner_strides.empty() || inner_strides.back() == 1;
  const bool per_invocation = n_in <= 64 || (n_out >= 2048 && !unit_stride);
  const int64_t splits =
      !per_invocation && n_out <= kMaxSplitOutputs ? std::clamp<int64_t>(n_in / (4 * kLocal), 1, kMaxSplits) : 1;
  // The partials and counters (unread, dst stands in for them, without splits).
  vulkan::BufferBinding partials = dst, counters = dst;
  Array held;
  if (splits > 1) {
    held = vulkan::scratch_array(ctx, out, {n_out * splits * 2}, Dtype::uint32);
    partials = vulkan::bind_output(ctx, held);
    counters = vulkan::arrival_counters(ctx, out, n_out);
  }
  const std::string variant = shader + (vulkan::use_subgroups(ctx) ? "_sg" : "");
  const auto& pipeline =
      ctx.pipelines().get(variant, 5, {kLocal, op, per_invocation ? 1u : 0u, static_cast<uint32_t>(splits)});
  uint32_t groups = per_invocation ? vulkan::group_count(n_out, kLocal) : vulkan::group_count(n_out * splits, 1);
  uint32_t gx = std::min<uint32_t>(groups, 65535), gy = (groups + gx - 1) / gx;
  ctx.stream().dispatch(pipeline, params, {src, dst, partials, counters}, gx, gy);
}

}  // namespace

LAMINA_VULKAN_KERNEL(Reduce) {
  auto variant = reduce_variant(inputs[0].dtype(), out.dtype());
  if (!variant) return vulkan::run_on_cpu(p, inputs, out);
  launch(vulkan::context_of(out), *variant, static_cast<uint32_t>(p.type()), inputs[0], p.axes(), out);
}

LAMINA_VULKAN_KERNEL(ArgReduce) {
  auto t = vulkan::dtype_suffix(inputs[0].dtype());
  if (!t) return vulkan::run_on_cpu(p, inputs, out);
  launch(vulkan::context_of(out), "reduce_arg_" + *t, static_cast<uint32_t>(p.type()), inputs[0], {p.axis()},
         out);
}

}  // namespace lamina::core
