// Vulkan evaluation of Matmul: the tiled kernel, the tensor-core kernel (float16 with
// kCoopmatMinRows rows or more, on devices with VK_NV_cooperative_matrix), or the
// matrix-vector kernel when the output has one row (the decode step). Batch dims broadcast
// without copies. With an addend (out = a @ b + c) every kernel adds c in its store loop
// (kernels/vulkan/addend.glsl). With a folded rms_norm the matvec normalises a as it loads
// it (kernels/vulkan/norm.glsl); the other kernels get the rows normalised first by
// RmsNorm's kernel (rms_norm_now). A gated product (silu(a @ b) * (a @ b_up)) is one matvec
// (gated.glsl) when M is 1 and b_up is laid out as b; else its two products and then
// SiluMultiply's kernel (eval_gated_now).
#include <algorithm>
#include <string>

#include "libcore/backend/vulkan/kernel_registry.h"
#include "libcore/backend/vulkan/kernel_util.h"
#include "libcore/backend/vulkan/scratch.h"
#include "libcore/backend/vulkan/strided.h"
#include "libcore/ops/matmul_primitive.h"

namespace lamina::core {

namespace {

// From this many output rows on (every product but the matvec's), float16 products go to
// matmul_coopmat.comp: even a mostly empty tensor-core tile beats the scalar tiles.
constexpr int64_t kCoopmatMinRows = 2;

// Strides of x's batch dims against the output's batch shape (0 where broadcast).
Strides batch_strides(const Array& x, const Shape& batch) {
  Strides s(batch.size(), 0);
  int lead = static_cast<int>(batch.size()) - (x.ndim() - 2);
  for (int d = 0; d < x.ndim() - 2; ++d) {
    if (x.shape()[d] != 1) s[lead + d] = x.strides()[d];
  }
  return s;
}
// matvec.comp's specialisation: team size, outputs per team and workgroup, and whether a
// and b (and a folded norm's weight) are read 16 bytes at a time (unit k strides, every
// row 16-byte aligned).
struct MatvecShape {
  uint32_t lanes = 32, rows = 4, wg_rows = 16, vec = 0;
};

MatvecShape matvec_shape(const vulkan::Context& ctx, bool subgroups, const Array& a, const Array& b,
                         const Shape& batch, uint32_t a_off, uint32_t b_off, uint32_t norm_off, uint32_t up_off,
                         bool gated) {
  MatvecShape s;
  const int64_t N = b.shape(-1), K = a.shape(-1);
  const int64_t item = static_cast<int64_t>(a.itemsize());
  const int64_t per_vec = 16 / item;
  bool vec = a.strides().back() == 1 && b.strides()[b.ndim() - 2] == 1 && K >= per_vec &&
             (int64_t{a_off} * item) % 16 == 0 && (int64_t{b_off} * item) % 16 == 0 &&
             (int64_t{norm_off} * item) % 16 == 0 && (int64_t{up_off} * item) % 16 == 0 &&
             (N == 1 || (b.strides().back() * item) % 16 == 0);
  for (const Strides& strides : {batch_strides(a, batch), batch_strides(b, batch)}) {
    for (int64_t stride : strides) vec = vec && (stride * item) % 16 == 0;
  }
  s.vec = vec ? 1 : 0;
  // One element or 16-byte chunk of k per lane.
  vulkan::MatvecTeams t = vulkan::matvec_teams(ctx, subgroups, vec ? K / per_vec : K, N, gated);
  s.lanes = t.lanes;
  s.rows = t.rows;
  s.wg_rows = t.wg_rows;
  return s;
}
// matmul_coopmat.comp's variant and specialisation: 128-row tiles once there are enough of
// them to fill a large GPU (else 64); 16-byte loads of 8 halves where an operand's chunks
// (along k for a; along n for a row-major b, else along k) have unit stride and every
// chunk starts on 16 bytes.
struct CoopmatShape {
  std::string variant;
  uint32_t tile = 64, a_vec = 0, b_rows_of_k = 0, b_vec = 0;
};

CoopmatShape coopmat_shape(uint32_t frag_n, const Array& a, const Array& b, const Shape& batch, uint32_t a_off,
                           uint32_t b_off) {
  CoopmatShape s;
  const int64_t M = a.shape(-2), K = a.shape(-1), N = b.shape(-1);
  const int64_t a_sm = a.strides()[a.ndim() - 2], a_sk = a.strides().back();
  const int64_t b_sk = b.strides()[b.ndim() - 2], b_sn = b.strides().back();
  auto batch_aligned = [&](const Array& x) {
    bool aligned = true;
    for (int64_t stride : batch_strides(x, batch)) aligned = aligned && stride % 8 == 0;
    return aligned;
  };
  s.a_vec = a_sk == 1 && K % 8 == 0 && a_off % 8 == 0 && (M == 1 || a_sm % 8 == 0) && batch_aligned(a);
  s.b_rows_of_k = b_sn == 1 && b_sk != 1;
  if (s.b_rows_of_k) {
    s.b_vec = N % 8 == 0 && (K == 1 || b_sk % 8 == 0) && b_off % 8 == 0 && batch_aligned(b);
  } else {
    s.b_vec = b_sk == 1 && K % 8 == 0 && (N == 1 || b_sn % 8 == 0) && b_off % 8 == 0 && batch_aligned(b);
  }
  s.tile = vulkan::coopmat_tile(M, N, shape_size(batch));
  s.variant = "matmul_coopmat_f16_t" + std::to_string(s.tile) + "_n" + std::to_string(frag_n);
  return s;
}
}  // namespace

LAMINA_VULKAN_KERNEL(Matmul) {
  const Array& b = inputs[1];
  auto t = vulkan::dtype_suffix(out.dtype());
  bool is_float = out.dtype() == Dtype::float32 || out.dtype() == Dtype::float16 ||
                  out.dtype() == Dtype::bfloat16;
  if (!t || !is_float || inputs[0].dtype() != out.dtype() || b.dtype() != out.dtype()) {
    return vulkan::run_on_cpu(p, inputs, out);
  }
  const int64_t M = inputs[0].shape(-2), K = inputs[0].shape(-1), N = b.shape(-1);
  const uint32_t gated = p.gated() ? 1 : 0;
  if (gated && (M != 1 || inputs[2].strides() != b.strides())) {
    return eval_gated_now(gated_halves(p, inputs), out.device(), out);
  }
  auto& ctx = vulkan::context_of(out);
  vulkan::allocate_output(ctx, out);
  if (out.size() == 0) return;
  // A folded norm: the matvec's prologue (NORM) below; the other kernels multiply rows
  // normalised now.
  const uint32_t norm = p.norm_eps() && M == 1 ? 1 : 0;
  const Array a = p.norm_eps() && !norm ? rms_norm_now(inputs[0], inputs[2], *p.norm_eps(), out.device()) : inputs[0];
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
  // The addend's offset is the parameter after the strides; without one, a is bound again
  // in its place (never read).
  const uint32_t addend = p.addend() ? 1 : 0;
  vulkan::OptionalOperand c;
  if (!vulkan::bind_optional(ctx, addend ? &inputs.back() : nullptr, out, ba, c)) {
    return vulkan::run_on_cpu(p, inputs, out);
  }
  params.push_back(c.offset);
  if (M == 1) {
    // The norm's weight (binding 5; a again without a norm) and its eps and offset.
    vulkan::OptionalOperand w;
    if (!vulkan::bind_optional(ctx, norm ? &inputs[p.norm_input()] : nullptr, out, ba, w)) {
      return vulkan::run_on_cpu(p, inputs, out);
    }
    params.push_back(vulkan::f32_bits(p.norm_eps().value_or(0.0f)));
    params.push_back(w.offset);
    // The up weight (binding 6, b's strides; b again ungated) and its offset.
    uint32_t up_off = 0;
    const vulkan::BufferBinding bu = gated ? vulkan::bind(ctx, inputs[2], up_off) : bb;
    params.push_back(up_off);
    const bool subgroups = vulkan::use_subgroups(ctx);
    const MatvecShape shape = matvec_shape(ctx, subgroups, a, b, batch, a_off, b_off, w.offset, up_off, gated);
    const auto& pipeline = ctx.pipelines().get(
        "matvec_" + *t + (subgroups ? "_sg" : ""), 7,
        {vulkan::kMatvecLocal, shape.lanes, shape.rows, shape.wg_rows, shape.vec, addend, norm, gated});
    uint32_t groups = static_cast<uint32_t>((N + shape.wg_rows - 1) / shape.wg_rows);
    uint32_t gx = std::min<uint32_t>(groups, 65535), gy = (groups + gx - 1) / gx;
    ctx.stream().dispatch(pipeline, params, {ba, bb, bo, c.binding, w.binding, bu}, gx, gy, static_cast<uint32_t>(batches));
    return;
  }
  const uint32_t frag_n = vulkan::coopmat_shape_n(ctx.info());
  if (frag_n != 0 && out.dtype() == Dtype::float16 && M >= kCoopmatMinRows) {
    const CoopmatShape shape = coopmat_shape(frag_n, a, b, batch, a_off, b_off);
    const auto& pipeline =
        ctx.pipelines().get(shape.variant, 5, {shape.tile * 2, shape.a_vec, shape.b_rows_of_k, shape.b_vec, addend});
    uint32_t gx = static_cast<uint32_t>((N + shape.tile - 1) / shape.tile);
    uint32_t gy = static_cast<uint32_t>((M + shape.tile - 1) / shape.tile);
    ctx.stream().dispatch(pipeline, params, {ba, bb, bo, c.binding}, gx, gy, static_cast<uint32_t>(batches));
    return;
  }
  // (constant 0, the workgroup size, is fixed in matmul.comp; 1 is ADDEND.)
  const auto& pipeline = ctx.pipelines().get("matmul_" + *t, 5, {256, addend});
  uint32_t gx = static_cast<uint32_t>((N + 63) / 64), gy = static_cast<uint32_t>((M + 63) / 64);
  ctx.stream().dispatch(pipeline, params, {ba, bb, bo, c.binding}, gx, gy, static_cast<uint32_t>(batches));
}

}  // namespace lamina::core
