// Vulkan evaluation of the row-wise fused ops: RmsNorm, LayerNorm, Softmax and Rope.
#include <cmath>

#include "libcore/backend/vulkan/kernel_registry.h"
#include "libcore/backend/vulkan/kernel_util.h"
#include "libcore/backend/vulkan/rope.h"
#include "libcore/backend/vulkan/strided.h"
#include "libcore/ops/fast_primitives.h"
#include "libcore/ops/softmax_primitive.h"

namespace lamina::core {

namespace {

// Row kernels' workgroup sizes (powers of two, at most 1024: rows.glsl's scratch): rows of
// up to ROW_CACHE (rows.glsl) * kRowLocal elements are held in registers; longer ones get
// kLongRowLocal invocations.
constexpr uint32_t kRowLocal = 256;
constexpr uint32_t kLongRowLocal = 1024;
constexpr int64_t kRowCache = 16;

bool is_float(Dtype d) { return d == Dtype::float32 || d == Dtype::float16 || d == Dtype::bfloat16; }

// Shape and strides of x and out without `axis` (the rows' outer shape).
struct Rows {
  Shape outer;
  Strides x_outer, out_outer;
};
Rows rows_of(const Array& x, const Array& out, int axis) {
  Rows r;
  for (int d = 0; d < x.ndim(); ++d) {
    if (d == axis) continue;
    r.outer.push_back(x.shape()[d]);
    r.x_outer.push_back(x.strides()[d]);
    r.out_outer.push_back(out.strides()[d]);
  }
  return r;
}

// Dispatches one workgroup per row of n elements; the variant with subgroup reductions
// (suffix _sg) where the device has them.
void dispatch_rows(vulkan::Context& ctx, const std::string& shader, const std::vector<uint32_t>& params,
                   const std::vector<vulkan::BufferBinding>& buffers, int64_t rows, int64_t n) {
  const uint32_t local = n <= kRowCache * kRowLocal ? kRowLocal : kLongRowLocal;
  const std::string variant = vulkan::use_subgroups(ctx) ? shader + "_sg" : shader;
  const auto& pipeline = ctx.pipelines().get(variant, static_cast<uint32_t>(buffers.size() + 1), {local});
  uint32_t total = static_cast<uint32_t>(rows);
  uint32_t gx = std::min<uint32_t>(total, 65535), gy = (total + gx - 1) / gx;
  ctx.stream().dispatch(pipeline, params, buffers, gx, gy);
}

}  // namespace

LAMINA_VULKAN_KERNEL(RmsNorm) {
  const Array& x = inputs[0];
  if (!is_float(x.dtype()) || (p.has_weight() && !is_float(inputs[1].dtype())) || x.ndim() == 0) {
    return vulkan::run_on_cpu(p, inputs, out);
  }
  auto& ctx = vulkan::context_of(out);
  vulkan::prepare_output_from(ctx, out, x);
  if (out.size() == 0) return;
  const int axis = x.ndim() - 1;
  Rows r = rows_of(x, out, axis);
  uint32_t x_off = 0, w_off = 0;
  auto bx = vulkan::bind(ctx, x, x_off);
  const Array& w = p.has_weight() ? inputs[1] : x;
  if (p.has_weight() && !w.is_row_contiguous()) return vulkan::run_on_cpu(p, inputs, out);
  auto bw = vulkan::bind(ctx, w, w_off);
  // The residual (x's shape and dtype; absent: x, not read).
  const Array& res = p.has_residual() ? inputs.back() : x;
  uint32_t res_off = 0;
  auto bres = vulkan::bind(ctx, res, res_off);
  auto bo = vulkan::bind_output(ctx, out);
  Rows rr = rows_of(res, out, axis);
  auto params = vulkan::strided_params(r.outer, {r.x_outer, r.out_outer, rr.x_outer}, {x_off, 0, res_off});
  for (uint32_t v : {static_cast<uint32_t>(x.shape(axis)), static_cast<uint32_t>(x.strides()[axis]),
                     static_cast<uint32_t>(out.strides()[axis]), vulkan::f32_bits(p.eps()),
                     static_cast<uint32_t>(p.has_weight()), w_off, static_cast<uint32_t>(p.has_residual()),
                     static_cast<uint32_t>(res.strides()[axis])}) {
    params.push_back(v);
  }
  std::string shader = "rms_norm_" + *vulkan::dtype_suffix(x.dtype()) + "_" + *vulkan::dtype_suffix(w.dtype());
  dispatch_rows(ctx, shader, params, {bx, bw, bo, bres}, shape_size(r.outer), x.shape(axis));
}

LAMINA_VULKAN_KERNEL(LayerNorm) {
  const Array& x = inputs[0];
  const Array* w = p.has_weight() ? &inputs[1] : nullptr;
  const Array* b = p.has_bias() ? &inputs[p.has_weight() ? 2 : 1] : nullptr;
  // Weight and bias: row-major, of one float dtype (absent ones bind x and are not read).
  const Array& params_dtype_of = w ? *w : b ? *b : x;
  bool ok = is_float(x.dtype()) && x.ndim() > 0 && is_float(params_dtype_of.dtype());
  for (const Array* a : {w, b}) {
    ok = ok && (!a || (a->dtype() == params_dtype_of.dtype() && a->is_row_contiguous()));
  }
  if (!ok) return vulkan::run_on_cpu(p, inputs, out);
  auto& ctx = vulkan::context_of(out);
  vulkan::prepare_output_from(ctx, out, x);
  if (out.size() == 0) return;
  const int axis = x.ndim() - 1;
  Rows r = rows_of(x, out, axis);
  uint32_t x_off = 0, w_off = 0, b_off = 0;
  auto bx = vulkan::bind(ctx, x, x_off);
  auto bw = vulkan::bind(ctx, w ? *w : params_dtype_of, w_off);
  auto bb = vulkan::bind(ctx, b ? *b : params_dtype_of, b_off);
  auto bo = vulkan::bind_output(ctx, out);
  auto params = vulkan::strided_params(r.outer, {r.x_outer, r.out_outer}, {x_off, 0});
  for (uint32_t v : {static_cast<uint32_t>(x.shape(axis)), static_cast<uint32_t>(x.strides()[axis]),
                     static_cast<uint32_t>(out.strides()[axis]), vulkan::f32_bits(p.eps()),
                     static_cast<uint32_t>(w != nullptr), w_off, static_cast<uint32_t>(b != nullptr), b_off}) {
    params.push_back(v);
  }
  std::string shader = "layer_norm_" + *vulkan::dtype_suffix(x.dtype()) + "_" +
                       *vulkan::dtype_suffix(params_dtype_of.dtype());
  dispatch_rows(ctx, shader, params, {bx, bw, bb, bo}, shape_size(r.outer), x.shape(axis));
}

LAMINA_VULKAN_KERNEL(Softmax) {
  const Array& x = inputs[0];
  if (!is_float(x.dtype())) return vulkan::run_on_cpu(p, inputs, out);
  auto& ctx = vulkan::context_of(out);
  vulkan::prepare_output(ctx, out, inputs);
  if (out.size() == 0) return;
  const int axis = p.axis();
  Rows r = rows_of(x, out, axis);
  uint32_t x_off = 0;
  auto bx = vulkan::bind(ctx, x, x_off);
  auto bo = vulkan::bind_output(ctx, out);
  auto params = vulkan::strided_params(r.outer, {r.x_outer, r.out_outer}, {x_off, 0});
  for (int64_t v : {x.shape(axis), x.strides()[axis], out.strides()[axis]}) {
    params.push_back(static_cast<uint32_t>(v));
  }
  dispatch_rows(ctx, "softmax_" + *vulkan::dtype_suffix(x.dtype()), params, {bx, bo}, shape_size(r.outer),
                x.shape(axis));
}

bool vulkan::rope_supported(const Rope::Params& pr, const std::vector<Array>& inputs) {
  const Array& x = inputs[0];
  const Array* freqs = pr.has_freqs ? &inputs[1] : nullptr;
  const Array* offsets = pr.has_offset_array ? &inputs[pr.has_freqs ? 2 : 1] : nullptr;
  return is_float(x.dtype()) && x.ndim() >= 1 && (!freqs || is_float(freqs->dtype())) &&
         (!freqs || freqs->is_row_contiguous()) && (!offsets || offsets->dtype() == Dtype::int32) &&
         (!offsets || offsets->is_row_contiguous()) && pr.dims % 2 == 0 && pr.dims <= x.shape(-1);
}

void vulkan::record_rope(Context& ctx, const Rope::Params& pr, const std::vector<Array>& inputs,
                         const Array& dst) {
  const Array& x = inputs[0];
  const Array* freqs = pr.has_freqs ? &inputs[1] : nullptr;
  const Array* offsets = pr.has_offset_array ? &inputs[pr.has_freqs ? 2 : 1] : nullptr;
  if (x.size() == 0) return;
  const int axis = x.ndim() - 1;
  const int64_t n = x.shape(axis), half = pr.dims / 2;
  Rows r = rows_of(x, dst, axis);
  const int64_t rows = shape_size(r.outer);
  const int64_t seq = x.ndim() >= 2 ? x.shape(-2) : 1;
  int64_t rows_per_batch = 1;
  if (offsets && offsets->size() > 1) rows_per_batch = rows / x.shape(0);
  uint32_t x_off = 0, f_off = 0, o_off = 0, d_off = 0;
  auto bx = bind(ctx, x, x_off);
  auto bf = bind(ctx, freqs ? *freqs : x, f_off);
  auto bofs = bind(ctx, offsets ? *offsets : x, o_off);
  auto bo = bind(ctx, dst, d_off, true);
  auto params = strided_params(r.outer, {r.x_outer, r.out_outer}, {x_off, d_off});
  for (uint32_t v : {static_cast<uint32_t>(n), static_cast<uint32_t>(pr.dims),
                     static_cast<uint32_t>(pr.traditional), static_cast<uint32_t>(pr.inverse),
                     static_cast<uint32_t>(seq), static_cast<uint32_t>(static_cast<int32_t>(pr.offset)),
                     f32_bits(pr.scale), static_cast<uint32_t>(freqs != nullptr), f_off,
                     static_cast<uint32_t>(rows_per_batch), static_cast<uint32_t>(offsets != nullptr), o_off}) {
    params.push_back(v);
  }
  push_inv_freqs(params, pr);
  params.push_back(static_cast<uint32_t>(x.strides()[axis]));
  params.push_back(static_cast<uint32_t>(dst.strides()[axis]));
  std::string xt = *dtype_suffix(x.dtype());
  std::string ft = freqs ? *dtype_suffix(freqs->dtype()) : "f32";
  // Bindings of the wrong dtype are never read (has_freqs / has_offsets are off), but the
  // variant must exist: use x's dtype for an absent freqs binding.
  if (!freqs) ft = xt;
  dispatch_elements(ctx, "rope_" + xt + "_" + ft, 0, params, {bx, bf, bofs, bo}, rows * (half + (n - pr.dims)));
}

void vulkan::push_inv_freqs(std::vector<uint32_t>& params, const Rope::Params& pr) {
  for (int64_t i = 0; i < pr.dims / 2; ++i) {
    double inv = std::pow(static_cast<double>(pr.base), -2.0 * static_cast<double>(i) / pr.dims);
    params.push_back(f32_bits(pr.has_freqs ? 0.0f : static_cast<float>(inv)));
  }
}

LAMINA_VULKAN_KERNEL(Rope) {
  if (!vulkan::rope_supported(p.params(), inputs)) return vulkan::run_on_cpu(p, inputs, out);
  auto& ctx = vulkan::context_of(out);
  vulkan::prepare_output_from(ctx, out, inputs[0]);
  vulkan::record_rope(ctx, p.params(), inputs, out);
}

}  // namespace lamina::core
