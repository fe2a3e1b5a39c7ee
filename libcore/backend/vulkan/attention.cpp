// Vulkan evaluation of ScaledDotProductAttention: kernels/vulkan/sdpa_decode.comp (split
// keys, for a few query rows), kernels/vulkan/sdpa_coopmat.comp (tensor cores, float16,
// more query rows) or kernels/vulkan/sdpa.comp (one workgroup per query row). With a folded
// query rope the split and per-row kernels rotate q as they load it.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

#include "libcore/backend/vulkan/instance.h"
#include "libcore/backend/vulkan/kernel_registry.h"
#include "libcore/backend/vulkan/kernel_util.h"
#include "libcore/backend/vulkan/rope.h"
#include "libcore/backend/vulkan/scratch.h"
#include "libcore/ops/fast_primitives.h"

namespace lamina::core {

namespace {
constexpr int64_t kMaxHeadDim = 512;  // MAX_D in sdpa.comp
// sdpa_decode.comp: query rows up to kSplitMaxLq, head dims up to its MAX_D, keys in tiles
// of TILE, at most MAX_SPLITS workgroups per row.
constexpr int64_t kSplitMaxLq = 4;
constexpr int64_t kSplitMaxHeadDim = 256;
constexpr int64_t kSplitTile = 32;
constexpr int64_t kSplitMaxSplits = 32;
constexpr uint32_t kSplitLocal = 128;  // its local_size_x (specialisation constant 0 by convention)
constexpr uint32_t kRowLocal = 128;    // sdpa.comp's local_size_x (likewise)

bool is_float(Dtype d) { return d == Dtype::float32 || d == Dtype::float16 || d == Dtype::bfloat16; }

void push_strides(std::vector<uint32_t>& params, const Array& a, uint32_t offset) {
  for (int d = 0; d < 4; ++d) params.push_back(static_cast<uint32_t>(a.strides()[d]));
  params.push_back(offset);
}

// Whether to split Lk keys over workgroups: from kSplitMinKeys keys on (below that the
// per-row kernel is faster: on an H200 8.2 vs 9.7 us at 16 keys, 18.7 vs 12.4 at 144).
// LAMINA_VULKAN_SDPA_SPLIT=0 never splits, =1 always does (tests; read each time).
constexpr int64_t kSplitMinKeys = 64;
bool use_split(int64_t Lk) {
  const char* env = std::getenv("LAMINA_VULKAN_SDPA_SPLIT");
  if (env && std::string(env) == "0") return false;
  if (env && std::string(env) == "1") return true;
  return Lk >= kSplitMinKeys;
}

}  // namespace

LAMINA_VULKAN_KERNEL(ScaledDotProductAttention) {
  // With a folded rope inputs[0] is the rope's x (q's shape and dtype) and q = rope(x).
  const auto& rope = p.rope();
  const std::vector<Array> rope_inputs = rope ? p.rope_inputs(inputs) : std::vector<Array>();
  const Array& x = inputs[0];
  const Array& k = inputs[p.k_index()];
  const Array& v = inputs[p.v_index()];
  const Array* mask = p.has_mask() ? &inputs[p.mask_index()] : nullptr;
  bool ok = is_float(x.dtype()) && k.dtype() == x.dtype() && v.dtype() == x.dtype() && x.ndim() == 4 &&
            k.ndim() == 4 && v.ndim() == 4 && x.shape(-1) <= kMaxHeadDim && v.shape(-1) <= kMaxHeadDim &&
            (!mask || mask->dtype() == Dtype::bool_ || mask->dtype() == Dtype::float32) &&
            (!mask || mask->ndim() == 4) && k.shape(1) > 0 && x.shape(1) % k.shape(1) == 0 &&
            (!rope || vulkan::rope_supported(rope->params(), rope_inputs));
  if (!ok) return vulkan::run_on_cpu(p, inputs, out);
  auto& ctx = vulkan::context_of(out);
  vulkan::allocate_output(ctx, out);
  if (out.size() == 0) return;
  const int64_t B = x.shape(0), Hq = x.shape(1), Lq = x.shape(2), D = x.shape(3);
  const int64_t Hkv = k.shape(1), Lk = k.shape(2), Dv = v.shape(3);
  const int64_t rows = B * Hq * Lq;
  // The kernel: split keys for a few query rows, else tensor cores (blocks of 64 query rows
  // for head dims up to 64, 32 up to 128), else one workgroup per query row.
  const bool split =
      use_split(Lk) && Lq <= kSplitMaxLq && D <= kSplitMaxHeadDim && Dv <= kSplitMaxHeadDim && rows <= 65535;
  const uint32_t frag_n = split ? 0 : vulkan::coopmat_shape_n(ctx.info());
  const bool coopmat =
      frag_n != 0 && x.dtype() == Dtype::float16 && Lq > kSplitMaxLq && std::max(D, Dv) <= 128 && B * Hq <= 65535;
  // A folded rope: the split and per-row kernels rotate q as they load it (ROPE); the
  // tensor-core kernel takes q rotated first by the rope kernel into a scratch array.
  const bool fused_rope = rope && !coopmat;
  const Array q = rope && coopmat ? vulkan::scratch_array(ctx, out, x.shape(), x.dtype()) : x;
  if (rope && coopmat) vulkan::record_rope(ctx, rope->params(), rope_inputs, q);
  uint32_t q_off = 0, k_off = 0, v_off = 0, m_off = 0, f_off = 0;
  auto bq = vulkan::bind(ctx, q, q_off);
  auto bk = vulkan::bind(ctx, k, k_off);
  auto bv = vulkan::bind(ctx, v, v_off);
  auto bm = vulkan::bind(ctx, mask ? *mask : q, m_off);
  auto bo = vulkan::bind_output(ctx, out);
  // The rope's freqs (absent: q, never read).
  const bool has_freqs = fused_rope && rope->params().has_freqs;
  auto bf = vulkan::bind(ctx, has_freqs ? rope_inputs[1] : q, f_off);
  std::vector<uint32_t> params;
  for (int64_t n : {B, Hq, Hkv, Lq, Lk, D, Dv}) params.push_back(static_cast<uint32_t>(n));
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
  // The folded rope's parameters after the kernel's own (kernels/vulkan/sdpa_rope.glsl).
  auto push_rope = [&] {
    if (!fused_rope) return;
    const Rope::Params& r = rope->params();
    for (uint32_t w : {static_cast<uint32_t>(r.dims), static_cast<uint32_t>(r.traditional),
                       static_cast<uint32_t>(static_cast<int32_t>(r.offset)), vulkan::f32_bits(r.scale),
                       static_cast<uint32_t>(has_freqs), f_off}) {
      params.push_back(w);
    }
    vulkan::push_inv_freqs(params, r);
  };
  std::string t = *vulkan::dtype_suffix(x.dtype());
  std::string m = mask && mask->dtype() == Dtype::bool_ ? "bool" : "f32";
  if (split) {
    const int64_t tiles = std::max<int64_t>((Lk + kSplitTile - 1) / kSplitTile, 1);
    const int64_t per_split = (tiles + kSplitMaxSplits - 1) / kSplitMaxSplits;
    const int64_t splits = (tiles + per_split - 1) / per_split;
    params.push_back(static_cast<uint32_t>(splits));
    params.push_back(static_cast<uint32_t>(per_split));
    push_rope();
    Array partials = vulkan::scratch_array(ctx, out, {splits > 1 ? rows * splits * (Dv + 2) : 1}, Dtype::float32);
    auto bp = vulkan::bind_output(ctx, partials);
    auto bc = vulkan::arrival_counters(ctx, out, rows);
    // HEAD_CAP (specialisation constant 1): the unrolled loads' length, at least D and Dv.
    const uint32_t head_cap = std::max(D, Dv) <= 64 ? 64 : std::max(D, Dv) <= 128 ? 128 : 256;
    const auto& pipeline =
        ctx.pipelines().get("sdpa_decode_" + t + "_" + m, 9, {kSplitLocal, head_cap, fused_rope ? 1u : 0u});
    ctx.stream().dispatch(pipeline, params, {bq, bk, bv, bm, bo, bp, bc, bf}, static_cast<uint32_t>(splits),
                          static_cast<uint32_t>(rows));
    return;
  }
  if (coopmat) {
    const int64_t head = std::max(D, Dv) <= 64 ? 64 : 128, block = head == 64 ? 64 : 32;
    const auto& pipeline = ctx.pipelines().get(
        "sdpa_coopmat_f16_" + m + "_h" + std::to_string(head) + "_n" + std::to_string(frag_n), 6, {});
    ctx.stream().dispatch(pipeline, params, {bq, bk, bv, bm, bo}, static_cast<uint32_t>((Lq + block - 1) / block),
                          static_cast<uint32_t>(B * Hq));
    return;
  }
  push_rope();
  const auto& pipeline = ctx.pipelines().get("sdpa_" + t + "_" + m, 7, {kRowLocal, fused_rope ? 1u : 0u});
  uint32_t groups = static_cast<uint32_t>(rows);
  uint32_t gx = std::min<uint32_t>(groups, 65535), gy = (groups + gx - 1) / gx;
  ctx.stream().dispatch(pipeline, params, {bq, bk, bv, bm, bo, bf}, gx, gy);
}

}  // namespace lamina::core
