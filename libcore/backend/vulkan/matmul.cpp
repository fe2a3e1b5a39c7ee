// Vulkan evaluation of Matmul: the tiled kernel, or the matrix-vector kernel when the
// output has one row (the decode step). Batch dims broadcast without copies.
#include "libcore/backend/vulkan/kernel_registry.h"
#include "libcore/backend/vulkan/kernel_util.h"
#include "libcore/backend/vulkan/strided.h"
#include "libcore/ops/matmul_primitive.h"

namespace lamina::core {

namespace {
constexpr uint32_t kMatvecLocal = 128;
constexpr uint32_t kMatvecRows = 4;  // ROWS in matvec.comp

// Strides of x's batch dims against the output's batch shape (0 where broadcast).
Strides batch_strides(const Array& x, const Shape& batch) {
  Strides s(batch.size(), 0);
  int lead = static_cast<int>(batch.size()) - (x.ndim() - 2);
  for (int d = 0; d < x.ndim() - 2; ++d) {
    if (x.shape()[d] != 1) s[lead + d] = x.strides()[d];
  }
  return s;
}
}  // namespace

LAMINA_VULKAN_KERNEL(Matmul) {
  const Array& a = inputs[0];
  const Array& b = inputs[1];
  auto t = vulkan::dtype_suffix(out.dtype());
  bool is_float = out.dtype() == Dtype::float32 || out.dtype() == Dtype::float16 ||
                  out.dtype() == Dtype::bfloat16;
  if (!t || !is_float || a.dtype() != out.dtype() || b.dtype() != out.dtype()) {
    return vulkan::run_on_cpu(p, inputs, out);
  }
  auto& ctx = vulkan::context_of(out);
  vulkan::allocate_output(ctx, out);
  if (out.size() == 0) return;
  const int64_t M = a.shape(-2), K = a.shape(-1), N = b.shape(-1);
  Shape batch(out.shape().begin(), out.shape().end() - 2);
  const int64_t batches = shape_size(batch);
  Strides out_batch = row_major_strides(batch);
  for (auto& s : out_batch) s *= M * N;
  uint32_t a_off = 0, b_off = 0;
  auto ba = vulkan::bind(ctx, a, a_off);
  auto bb = vulkan::bind(ctx, b, b_off);
  auto bo = vulkan::bind_output(ctx, out);
  auto params = vulkan::strided_params(batch, {batch_strides(a, batch), batch_strides(b, batch), out_batch},
                                       {a_off, b_off, 0});
  for (int64_t v : {M, N, K, a.strides()[a.ndim() - 2], a.strides()[a.ndim() - 1],
                    b.strides()[b.ndim() - 2], b.strides()[b.ndim() - 1]}) {
    params.push_back(static_cast<uint32_t>(v));
  }
  if (batches > 65535) return vulkan::run_on_cpu(p, inputs, out);
  if (M == 1) {
    const auto& pipeline = ctx.pipelines().get("matvec_" + *t, 4, {kMatvecLocal});
    uint32_t groups = static_cast<uint32_t>((N + kMatvecRows - 1) / kMatvecRows);
    uint32_t gx = std::min<uint32_t>(groups, 65535), gy = (groups + gx - 1) / gx;
    ctx.stream().dispatch(pipeline, params, {ba, bb, bo}, gx, gy, static_cast<uint32_t>(batches));
    return;
  }
  const auto& pipeline = ctx.pipelines().get("matmul_" + *t, 4, {});
  uint32_t gx = static_cast<uint32_t>((N + 63) / 64), gy = static_cast<uint32_t>((M + 63) / 64);
  ctx.stream().dispatch(pipeline, params, {ba, bb, bo}, gx, gy, static_cast<uint32_t>(batches));
}

}  // namespace lamina::core
