// Vulkan evaluation of ScaledDotProductAttention (kernels/vulkan/sdpa.comp).
#include "libcore/backend/vulkan/kernel_registry.h"
#include "libcore/backend/vulkan/kernel_util.h"
#include "libcore/ops/fast_primitives.h"

namespace lamina::core {

namespace {
constexpr int64_t kMaxHeadDim = 512;  // MAX_D in sdpa.comp

bool is_float(Dtype d) { return d == Dtype::float32 || d == Dtype::float16 || d == Dtype::bfloat16; }

void push_strides(std::vector<uint32_t>& params, const Array& a, uint32_t offset) {
  for (int d = 0; d < 4; ++d) params.push_back(static_cast<uint32_t>(a.strides()[d]));
  params.push_back(offset);
}
}  // namespace

LAMINA_VULKAN_KERNEL(ScaledDotProductAttention) {
  const Array& q = inputs[0];
  const Array& k = inputs[1];
  const Array& v = inputs[2];
  const Array* mask = p.has_mask() ? &inputs[3] : nullptr;
  bool ok = is_float(q.dtype()) && k.dtype() == q.dtype() && v.dtype() == q.dtype() && q.ndim() == 4 &&
            k.ndim() == 4 && v.ndim() == 4 && q.shape(-1) <= kMaxHeadDim && v.shape(-1) <= kMaxHeadDim &&
            (!mask || mask->dtype() == Dtype::bool_ || mask->dtype() == Dtype::float32) &&
            (!mask || mask->ndim() == 4) && k.shape(1) > 0 && q.shape(1) % k.shape(1) == 0;
  if (!ok) return vulkan::run_on_cpu(p, inputs, out);
  auto& ctx = vulkan::context_of(out);
  vulkan::allocate_output(ctx, out);
  if (out.size() == 0) return;
  const int64_t B = q.shape(0), Hq = q.shape(1), Lq = q.shape(2), D = q.shape(3);
  const int64_t Hkv = k.shape(1), Lk = k.shape(2), Dv = v.shape(3);
  uint32_t q_off = 0, k_off = 0, v_off = 0, m_off = 0;
  auto bq = vulkan::bind(ctx, q, q_off);
  auto bk = vulkan::bind(ctx, k, k_off);
  auto bv = vulkan::bind(ctx, v, v_off);
  auto bm = vulkan::bind(ctx, mask ? *mask : q, m_off);
  auto bo = vulkan::bind_output(ctx, out);
  std::vector<uint32_t> params;
  for (int64_t x : {B, Hq, Hkv, Lq, Lk, D, Dv}) params.push_back(static_cast<uint32_t>(x));
  params.push_back(vulkan::f32_bits(p.scale()));
  params.push_back(static_cast<uint32_t>(p.causal()));
  params.push_back(mask ? (mask->dtype() == Dtype::bool_ ? 1u : 2u) : 0u);
  push_strides(params, q, q_off);
  push_strides(params, k, k_off);
  push_strides(params, v, v_off);
  if (mask) {
    push_strides(params, *mask, m_off);
  } else {
    for (int i = 0; i < 5; ++i) params.push_back(0);
  }
  push_strides(params, out, 0);
  std::string t = *vulkan::dtype_suffix(q.dtype());
  std::string m = mask && mask->dtype() == Dtype::bool_ ? "bool" : "f32";
  const auto& pipeline = ctx.pipelines().get("sdpa_" + t + "_" + m, 6, {});
  uint32_t groups = static_cast<uint32_t>(B * Hq * Lq);
  uint32_t gx = std::min<uint32_t>(groups, 65535), gy = (groups + gx - 1) / gx;
  ctx.stream().dispatch(pipeline, params, {bq, bk, bv, bm, bo}, gx, gy);
}

}  // namespace lamina::core
