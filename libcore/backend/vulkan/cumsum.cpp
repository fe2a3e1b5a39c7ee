// Vulkan evaluation of CumSum (kernels/vulkan/cumsum.comp): lanes read in place with any
// strides; short or strided lanes (when there are many) scan one per invocation, the others
// one per workgroup.
#include <algorithm>
#include <string>

#include "libcore/backend/vulkan/kernel_registry.h"
#include "libcore/backend/vulkan/kernel_util.h"
#include "libcore/backend/vulkan/strided.h"
#include "libcore/ops/sort_primitives.h"

namespace lamina::core {

namespace {

constexpr uint32_t kLocal = 256;  // at most 256 (cumsum.comp's shared arrays)

// cumsum.comp's variant for in -> out (the builder's dtype rule), if there is one.
std::optional<std::string> cumsum_variant(Dtype in, Dtype out) {
  auto i = vulkan::dtype_suffix(in), o = vulkan::dtype_suffix(out);
  if (!i || !o) return std::nullopt;
  if (in == Dtype::bool_ && out == Dtype::int32) return "cumsum_bool_i32";
  if (in != out || in == Dtype::bool_) return std::nullopt;
  return "cumsum_" + *i + "_" + *o;
}

}  // namespace

LAMINA_VULKAN_KERNEL(CumSum) {
  const Array& in = inputs[0];
  auto variant = cumsum_variant(in.dtype(), out.dtype());
  if (!variant || in.ndim() > 9 || in.size() > 0xffffffffLL) return vulkan::run_on_cpu(p, inputs, out);
  auto& ctx = vulkan::context_of(out);
  vulkan::allocate_output(ctx, out);
  if (out.size() == 0) return;
  const int axis = p.axis();
  uint32_t in_off = 0;
  auto src = vulkan::bind(ctx, in, in_off);
  auto dst = vulkan::bind_output(ctx, out);
  auto params = vulkan::lane_params(in, out, axis, in_off);
  const int64_t n = in.shape(axis), lanes = n == 0 ? 0 : in.size() / n;
  for (int64_t v : {n, in.strides()[axis], out.strides()[axis], int64_t{p.reverse()}, int64_t{p.inclusive()}}) {
    params.push_back(static_cast<uint32_t>(v));
  }
  // As in reduce.cpp: one invocation per lane for short lanes, or strided ones when they
  // are enough to fill the GPU (neighbouring invocations then read neighbouring elements).
  const bool per_invocation = n <= 64 || (lanes >= 2048 && in.strides()[axis] != 1);
  const auto& pipeline = ctx.pipelines().get(*variant, 3, {kLocal, per_invocation ? 1u : 0u});
  uint32_t groups = per_invocation ? vulkan::group_count(lanes, kLocal) : vulkan::group_count(lanes, 1);
  uint32_t gx = std::min<uint32_t>(groups, 65535), gy = (groups + gx - 1) / gx;
  ctx.stream().dispatch(pipeline, params, {src, dst}, gx, gy);
}

}  // namespace lamina::core
