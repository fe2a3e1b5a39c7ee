// Vulkan evaluation of RmsNormGrad and LayerNormGrad (kernels/vulkan/norm_grad.comp): the
// cotangent of x, one workgroup per row, any strides for x and the cotangent g (g of x's
// dtype or float32), a row-major weight of any float dtype.
#include <algorithm>
#include <string>

#include "libcore/backend/vulkan/kernel_registry.h"
#include "libcore/backend/vulkan/kernel_util.h"
#include "libcore/backend/vulkan/strided.h"
#include "libcore/ops/fast_primitives.h"

namespace lamina::core {

namespace {

constexpr uint32_t kRowLocal = 256;  // a power of two, at most 1024 (rows.glsl's scratch)

bool is_float(Dtype d) { return d == Dtype::float32 || d == Dtype::float16 || d == Dtype::bfloat16; }

// Records norm_grad.comp's `kind` ("rms" or "layer") for inputs {x, [weight], g}; false
// (nothing recorded) when the kernel does not take them.
bool launch(const std::string& kind, float eps, bool has_weight, const std::vector<Array>& inputs, Array& out) {
  const Array& x = inputs[0];
  const Array& g = inputs.back();
  const Array& w = has_weight ? inputs[1] : x;  // an absent weight binds x, never read
  if (!is_float(x.dtype()) || x.ndim() == 0 || (g.dtype() != x.dtype() && g.dtype() != Dtype::float32) ||
      !is_float(w.dtype()) || (has_weight && !w.is_row_contiguous()) || g.shape() != x.shape()) {
    return false;
  }
  auto& ctx = vulkan::context_of(out);
  // In place over g or x is safe: each invocation reads its elements before writing them.
  vulkan::prepare_output_from(ctx, out, vulkan::can_donate(g, out) ? g : x);
  if (out.size() == 0) return true;
  const int axis = x.ndim() - 1;
  const Shape outer(x.shape().begin(), x.shape().end() - 1);
  const Strides x_rows(x.strides().begin(), x.strides().end() - 1), g_rows(g.strides().begin(), g.strides().end() - 1),
      out_rows(out.strides().begin(), out.strides().end() - 1);
  uint32_t x_off = 0, w_off = 0, g_off = 0;
  auto bx = vulkan::bind(ctx, x, x_off);
  auto bw = vulkan::bind(ctx, w, w_off);
  auto bg = vulkan::bind(ctx, g, g_off);
  auto bo = vulkan::bind_output(ctx, out);
  auto params = vulkan::strided_params(outer, {x_rows, g_rows, out_rows}, {x_off, g_off, 0});
  for (uint32_t v : {static_cast<uint32_t>(x.shape(axis)), static_cast<uint32_t>(x.strides()[axis]),
                     static_cast<uint32_t>(g.strides()[axis]), vulkan::f32_bits(eps),
                     static_cast<uint32_t>(has_weight), w_off}) {
    params.push_back(v);
  }
  const std::string shader = "norm_grad_" + kind + "_" + *vulkan::dtype_suffix(x.dtype()) + "_" +
                             *vulkan::dtype_suffix(w.dtype()) + "_" + *vulkan::dtype_suffix(g.dtype());
  const auto& pipeline = ctx.pipelines().get(shader, 5, {kRowLocal});
  const auto rows = static_cast<uint32_t>(shape_size(outer));
  const uint32_t gx = std::min<uint32_t>(rows, 65535), gy = (rows + gx - 1) / gx;
  ctx.stream().dispatch(pipeline, params, {bx, bw, bg, bo}, gx, gy);
  return true;
}

}  // namespace

LAMINA_VULKAN_KERNEL(RmsNormGrad) {
  if (!launch("rms", p.eps(), p.has_weight(), inputs, out)) vulkan::run_on_cpu(p, inputs, out);
}

LAMINA_VULKAN_KERNEL(LayerNormGrad) {
  if (!launch("layer", p.eps(), p.has_weight(), inputs, out)) vulkan::run_on_cpu(p, inputs, out);
}

}  // namespace lamina::core
