// Vulkan evaluation of the affine quantization primitives a quantized model runs:
// QuantizedMatmul (with the transposed weight, every quantized Linear: matvec kernel for up
// to kMatvecRows input rows, tiled kernel above, the tensor-core kernel from
// kCoopmatMinRows float16 rows on devices with VK_NV_cooperative_matrix; untransposed, the
// vjp's product: tiled; each adding an addend in its store loop when the product has one;
// with a folded rms_norm the matvec normalises x as it loads it, the others multiply rows
// normalised first by RmsNorm's kernel; a gated product is one matvec (gated.glsl) where
// the matvec applies and the up weight is laid out as the gate's, else its two products and
// then SiluMultiply's kernel)
// and AffineDequantize (the quantized embedding's gathered rows). The CPU kernels'
// int8-activation mode does not apply: the GPU multiplies float activations. Bits and
// group size are specialisation constants.
#include <algorithm>
#include <array>
#include <optional>
#include <string>

#include "libcore/backend/vulkan/kernel_registry.h"
#include "libcore/backend/vulkan/kernel_util.h"
#include "libcore/backend/vulkan/matvec_into.h"
#include "libcore/backend/vulkan/rope.h"
#include "libcore/backend/vulkan/scratch.h"
#include "libcore/backend/vulkan/strided.h"
#include "libcore/ops/matmul_primitive.h"
#include "quant/quantized_primitives.h"

namespace lamina::core {

namespace {

constexpr int64_t kMatvecRows = 4;
constexpr uint32_t kTile = 64;          // BM = BN in quantized_matmul.comp
constexpr int64_t kCoopmatMinRows = 5;  // quantized_matmul_coopmat.comp from here on (above the matvec)

bool is_float(Dtype d) { return d == Dtype::float32 || d == Dtype::float16 || d == Dtype::bfloat16; }

// uint32 packed weight, scales and biases of one float dtype; row-major unless `strided`
// (then only the packed weight must be: scales and biases made by an in-process quantize
// are strided views).
bool weights_supported(const Array& w, const Array& scales, const Array& biases, bool strided) {
  return w.dtype() == Dtype::uint32 && is_float(scales.dtype()) && biases.dtype() == scales.dtype() &&
         w.is_row_contiguous() && (strided || (scales.is_row_contiguous() && biases.is_row_contiguous()));
}

// quantized_matvec.comp's specialisation: team size and outputs per team and workgroup,
// and whether x and the packed weight can be read 16 bytes at a time.
struct MatvecShape {
  uint32_t lanes = 32, rows = 4, wg_rows = 16, x_vec = 0, w_vec = 0;
};

// True when x can be read 16 bytes at a time: unit k stride and every row's start (so every
// 32-code pack's) on 16 bytes.
bool x_rows_aligned(const Array& x, const Shape& lead, const Strides& lead_strides, uint32_t x_off) {
  const int64_t item = static_cast<int64_t>(x.itemsize());
  bool aligned = x.strides().back() == 1 && (int64_t{x_off} * item) % 16 == 0;
  for (size_t d = 0; d < lead.size(); ++d) aligned = aligned && (lead[d] == 1 || (lead_strides[d] * item) % 16 == 0);
  return aligned;
}

MatvecShape matvec_shape(const vulkan::Context& ctx, bool subgroups, int64_t N, int64_t K, const Array& x,
                         const Shape& lead, const Strides& lead_strides, uint32_t x_off, uint32_t w_off, uint32_t bits,
                         uint32_t norm_off, uint32_t up_w_off, bool gated, bool pairs) {
  MatvecShape s;
  // One 32-code pack of k per lane.
  const int64_t packs = K / 32;
  // Ungated, at most 2 outputs a team: on an H200 TinyLlama's 5632 x 2048 4-bit up
  // projection took 8.4 us in a chain of dependent matvecs with 2 (4 teams of 2 per
  // workgroup, 704 workgroups) against 8.9-9.0 with 4 or 1 (vulkan_speed_test
  // DecodeMatvecChain). Fewer outputs a team until there are 1024 workgroups (so one
  // output a team for TinyLlama's 2048-output projections, two products for its gated
  // 5632): 4-bit generation 708-709 -> 720-727 tok/s on an H200 against a floor of 256
  // (e2e_bench 16 + 256 tokens, three alternating rounds).
  constexpr int64_t kMinWorkgroups = 1024;
  // (A rope's pairs: 2 outputs a team whatever the count.)
  vulkan::MatvecTeams t =
      vulkan::matvec_teams(ctx, subgroups, packs, N, gated, gated ? 4 : 2, pairs ? 0 : kMinWorkgroups);
  s.lanes = t.lanes;
  s.rows = t.rows;
  s.wg_rows = t.wg_rows;
  // (A folded norm's weight is read as x is: its start on 16 bytes too.)
  s.x_vec = x_rows_aligned(x, lead, lead_strides, x_off) && (int64_t{norm_off} * x.itemsize()) % 16 == 0 ? 1 : 0;
  // The weights' rows: packs * bits words each, from word w_off (and up_w_off).
  s.w_vec = w_off % 4 == 0 && up_w_off % 4 == 0 && (packs * bits) % 4 == 0 ? 1 : 0;
  return s;
}

// Where a matvec stores its outputs (quantized_matvec.comp's STORE and ROPE): out's
// row-major elements, or output n of its one row at `region`'s flat index n, rotated first
// by `rope` (its freqs: `freqs`, or null).
struct MatvecStore {
  const Array* region = nullptr;
  const Rope::Params* rope = nullptr;
  const Array* freqs = nullptr;
};

// The kernel's store parameters for `region` (element `off` its element 0): the offset,
// the inner axis' size and stride and the outer one's stride, over the axes longer than 1;
// nothing when there are more than two.
std::optional<std::array<uint32_t, 4>> region_map(const Array& region, uint32_t off) {
  std::vector<int> axes;
  for (int d = 0; d < region.ndim(); ++d) {
    if (region.shape(d) != 1) axes.push_back(d);
  }
  if (axes.size() > 2) return std::nullopt;
  std::array<uint32_t, 4> map{off, 1, 0, 0};
  if (!axes.empty()) {
    map[1] = static_cast<uint32_t>(region.shape(axes.back()));
    map[2] = static_cast<uint32_t>(region.strides()[axes.back()]);
  }
  if (axes.size() == 2) map[3] = static_cast<uint32_t>(region.strides()[axes[0]]);
  return map;
}

// The product's checks shared by the kernel and record_matvec_into: false when the GPU
// kernels do not take these operands or this output dtype.
bool product_supported(const QuantizedMatmul& p, const std::vector<Array>& inputs, Dtype out_dtype) {
  const Array& x = inputs[0];
  const Dtype st = inputs[2].dtype();
  // The shaders' output dtype: x's when it matches the scales', else float32.
  const Dtype expected_out = x.dtype() == st ? st : Dtype::float32;
  const int64_t K = x.ndim() > 0 ? x.shape(-1) : 0;
  return is_float(x.dtype()) && weights_supported(inputs[1], inputs[2], inputs[3], true) &&
         out_dtype == expected_out && K > 0 && x.size() / K <= 65535LL * kTile;
}

// Whether a gated product's up operands can go into the matvec beside the gate's.
bool gated_matvec_supported(const std::vector<Array>& inputs) {
  return weights_supported(inputs[4], inputs[5], inputs[6], true) && inputs[4].strides() == inputs[1].strides() &&
         inputs[5].strides() == inputs[2].strides() && inputs[6].strides() == inputs[3].strides();
}

// Records the matvec of p (at most kMatvecRows rows of x, transposed weight) with N
// outputs a row of dtype out_dtype, stored as `store` says (`out`, allocated, without a
// region). False when the addend or the norm's weight has no copy variant (at most a copy
// of the other recorded, never the matvec).
bool record_matvec(vulkan::Context& ctx, const QuantizedMatmul& p, const std::vector<Array>& inputs, const Array& out,
                   int64_t N, Dtype out_dtype, const MatvecStore& store) {
  const Array& x = inputs[0];
  const int64_t K = x.shape(-1), M = x.size() / K;
  const uint32_t gated = p.gated() ? 1 : 0, norm = p.norm_eps() ? 1 : 0, addend = p.addend() ? 1 : 0;
  Shape lead(x.shape().begin(), x.shape().end() - 1);
  Strides lead_strides(x.strides().begin(), x.strides().end() - 1);
  uint32_t x_off = 0, w_off = 0, s_off = 0, b_off = 0, d_off = 0;
  auto bx = vulkan::bind(ctx, x, x_off);
  auto bw = vulkan::bind(ctx, inputs[1], w_off);
  auto bs = vulkan::bind(ctx, inputs[2], s_off);
  auto bb = vulkan::bind(ctx, inputs[3], b_off);
  auto bo = store.region ? vulkan::bind(ctx, *store.region, d_off, true) : vulkan::bind_output(ctx, out);
  auto params = vulkan::strided_params(lead, {lead_strides}, {x_off});
  const Array &scales = inputs[2], &biases = inputs[3];
  // The addend (out = x @ W^T + c, kernels/vulkan/addend.glsl): its offset is the
  // parameter after the biases' group stride; without one, x is bound again in its place
  // (never read). The norm's weight (binding 7; x again without a norm) likewise.
  vulkan::OptionalOperand c, norm_w;
  if (!vulkan::bind_optional(ctx, addend ? &inputs.back() : nullptr, x, bx, c) ||
      !vulkan::bind_optional(ctx, norm ? &inputs[p.norm_input()] : nullptr, x, bx, norm_w)) {
    return false;
  }
  for (int64_t v : {N, K, x.strides().back(), int64_t{w_off}, int64_t{s_off}, int64_t{b_off}, scales.strides()[0],
                    scales.strides()[1], biases.strides()[0], biases.strides()[1], int64_t{c.offset}}) {
    params.push_back(static_cast<uint32_t>(v));
  }
  params.push_back(vulkan::f32_bits(p.norm_eps().value_or(0.0f)));
  params.push_back(norm_w.offset);
  // The up weight's words, scales and biases (bindings 8-10, the gate's strides; the
  // gate's again ungated) and their offsets.
  uint32_t uw_off = 0, us_off = 0, ub_off = 0;
  const vulkan::BufferBinding buw = gated ? vulkan::bind(ctx, inputs[4], uw_off) : bw;
  const vulkan::BufferBinding bus = gated ? vulkan::bind(ctx, inputs[5], us_off) : bs;
  const vulkan::BufferBinding bub = gated ? vulkan::bind(ctx, inputs[6], ub_off) : bb;
  for (uint32_t v : {uw_off, us_off, ub_off}) params.push_back(v);
  // The store: a region's offset, inner size and strides (STORE), then the rope's block.
  const auto map = store.region ? region_map(*store.region, d_off) : std::array<uint32_t, 4>{0, 1, 0, 0};
  for (uint32_t v : *map) params.push_back(v);
  uint32_t f_off = 0;
  const vulkan::BufferBinding bf = store.freqs ? vulkan::bind(ctx, *store.freqs, f_off) : bx;
  if (store.rope) {
    const Rope::Params& r = *store.rope;
    for (uint32_t v : {static_cast<uint32_t>(r.dims), static_cast<uint32_t>(r.traditional),
                       static_cast<uint32_t>(static_cast<int32_t>(r.offset)), vulkan::f32_bits(r.scale),
                       static_cast<uint32_t>(store.freqs != nullptr), f_off}) {
      params.push_back(v);
    }
    vulkan::push_inv_freqs(params, r);
  }
  const uint32_t bits = static_cast<uint32_t>(p.bits()), group = static_cast<uint32_t>(p.group_size());
  const bool subgroups = vulkan::use_subgroups(ctx);
  const MatvecShape shape = matvec_shape(ctx, subgroups, N, K, x, lead, lead_strides, x_off, w_off, bits,
                                         norm_w.offset, uw_off, gated, store.rope != nullptr);
  const std::string variant = *vulkan::dtype_suffix(x.dtype()) + "_" + *vulkan::dtype_suffix(scales.dtype()) + "_" +
                              *vulkan::dtype_suffix(out_dtype);
  const std::string shader = "quantized_matvec_" + variant + (subgroups ? "_sg" : "");
  const auto& pipeline = ctx.pipelines().get(
      shader, 12,
      {vulkan::kMatvecLocal, bits, group, shape.lanes, shape.rows, shape.wg_rows, shape.x_vec, shape.w_vec, addend,
       norm, gated, store.region ? 1u : 0u, store.rope ? 1u : 0u});
  uint32_t groups = static_cast<uint32_t>((N + shape.wg_rows - 1) / shape.wg_rows);
  uint32_t gx = std::min<uint32_t>(groups, 65535), gy = (groups + gx - 1) / gx;
  ctx.stream().dispatch(pipeline, params, {bx, bw, bs, bb, bo, c.binding, norm_w.binding, buw, bus, bub, bf}, gx,
                        gy, static_cast<uint32_t>(M));
  return true;
}

}  // namespace

bool vulkan::record_matvec_into(Context& ctx, const Primitive& product, const std::vector<Array>& inputs,
                                const Array& region, const Rope::Params* rope, const Array* freqs) {
  const auto* p = dynamic_cast<const QuantizedMatmul*>(&product);
  if (!p || !p->transpose() || p->gated() || !product_supported(*p, inputs, region.dtype())) return false;
  const Array& x = inputs[0];
  const int64_t K = x.shape(-1), N = region.size();
  uint32_t off = 0;
  if (x.size() != K || !region_map(region, off) || N >= (int64_t{1} << 32)) return false;
  if (rope && (rope->dims != region.shape(-1) || rope->dims % 2 != 0 || region.shape(-1) < 2 ||
               (freqs && (freqs->dtype() != Dtype::float32 || !freqs->is_row_contiguous())))) {
    return false;
  }
  return record_matvec(ctx, *p, inputs, region, N, region.dtype(), {&region, rope, freqs});
}

LAMINA_VULKAN_KERNEL(QuantizedMatmul) {
  const Array& x_in = inputs[0];
  if (!product_supported(p, inputs, out.dtype())) return vulkan::run_on_cpu(p, inputs, out);
  const int64_t K = x_in.shape(-1), N = out.shape(-1), M = x_in.size() / K;
  const bool transposed = p.transpose(), matvec = transposed && M <= kMatvecRows;
  if (p.gated() && !(matvec && gated_matvec_supported(inputs))) {
    return eval_gated_now(gated_halves(p, inputs), out.device(), out);
  }
  auto& ctx = vulkan::context_of(out);
  vulkan::allocate_output(ctx, out);
  if (out.size() == 0) return;
  if (matvec) {
    // A folded norm: the matvec's prologue (NORM).
    if (!record_matvec(ctx, p, inputs, out, N, out.dtype(), {})) return vulkan::run_on_cpu(p, inputs, out);
    return;
  }
  // The other kernels multiply rows normalised now.
  const Array x = p.norm_eps() ? rms_norm_now(x_in, inputs[4], *p.norm_eps(), out.device()) : x_in;
  Shape lead(x.shape().begin(), x.shape().end() - 1);
  Strides lead_strides(x.strides().begin(), x.strides().end() - 1);
  uint32_t x_off = 0, w_off = 0, s_off = 0, b_off = 0;
  auto bx = vulkan::bind(ctx, x, x_off);
  auto bw = vulkan::bind(ctx, inputs[1], w_off);
  auto bs = vulkan::bind(ctx, inputs[2], s_off);
  auto bb = vulkan::bind(ctx, inputs[3], b_off);
  auto bo = vulkan::bind_output(ctx, out);
  auto params = vulkan::strided_params(lead, {lead_strides}, {x_off});
  const Array &scales = inputs[2], &biases = inputs[3];
  // The addend (out = x @ W^T + c, kernels/vulkan/addend.glsl): its offset is the
  // parameter after the biases' group stride; without one, x is bound again in its place
  // (never read).
  const uint32_t addend = p.addend() ? 1 : 0;
  vulkan::OptionalOperand c;
  if (!vulkan::bind_optional(ctx, addend ? &inputs.back() : nullptr, out, bx, c)) {
    return vulkan::run_on_cpu(p, inputs, out);
  }
  for (int64_t v : {N, K, x.strides().back(), int64_t{w_off}, int64_t{s_off}, int64_t{b_off}, scales.strides()[0],
                    scales.strides()[1], biases.strides()[0], biases.strides()[1], int64_t{c.offset}}) {
    params.push_back(static_cast<uint32_t>(v));
  }
  const std::string variant = *vulkan::dtype_suffix(x.dtype()) + "_" + *vulkan::dtype_suffix(scales.dtype()) + "_" +
                              *vulkan::dtype_suffix(out.dtype());
  const auto bits = static_cast<uint32_t>(p.bits()), group = static_cast<uint32_t>(p.group_size());
  const uint32_t frag_n = vulkan::coopmat_shape_n(ctx.info());
  if (transposed && frag_n != 0 && x.dtype() == Dtype::float16 && M >= kCoopmatMinRows) {
    const bool x_vec = x_rows_aligned(x, lead, lead_strides, x_off);
    const uint32_t tile = vulkan::coopmat_tile(M, N);
    const std::string shader = "quantized_matmul_coopmat_" + variant + "_t" + std::to_string(tile) + "_n" +
                               std::to_string(frag_n);
    const auto& pipeline = ctx.pipelines().get(shader, 7, {tile * 2, bits, group, x_vec ? 1u : 0u, addend});
    uint32_t gx = static_cast<uint32_t>((N + tile - 1) / tile), gy = static_cast<uint32_t>((M + tile - 1) / tile);
    ctx.stream().dispatch(pipeline, params, {bx, bw, bs, bb, bo, c.binding}, gx, gy, 1);
    return;
  }
  const auto& pipeline =
      ctx.pipelines().get("quantized_matmul_" + variant, 7, {256, bits, group, transposed ? 1u : 0u, addend});
  uint32_t gx = static_cast<uint32_t>((N + kTile - 1) / kTile), gy = static_cast<uint32_t>((M + kTile - 1) / kTile);
  ctx.stream().dispatch(pipeline, params, {bx, bw, bs, bb, bo, c.binding}, gx, gy, 1);
}

LAMINA_VULKAN_KERNEL(AffineDequantize) {
  if (!weights_supported(inputs[0], inputs[1], inputs[2], false) || out.dtype() != inputs[1].dtype()) return vulkan::run_on_cpu(p, inputs, out);
  auto& ctx = vulkan::context_of(out);
  vulkan::allocate_output(ctx, out);
  if (out.size() == 0) return;
  // The primitive keeps bits and group size to itself; the shapes give them.
  const int64_t K = out.shape(-1), packs = out.size() / 32;
  const auto bits = static_cast<uint32_t>(inputs[0].shape(-1) * 32 / K);
  const auto group = static_cast<uint32_t>(K / inputs[1].shape(-1));
  uint32_t w_off = 0, s_off = 0, b_off = 0;
  auto bw = vulkan::bind(ctx, inputs[0], w_off);
  auto bs = vulkan::bind(ctx, inputs[1], s_off);
  auto bb = vulkan::bind(ctx, inputs[2], b_off);
  auto bo = vulkan::bind_output(ctx, out);
  std::vector<uint32_t> params;
  for (int64_t v : {packs, K, int64_t{w_off}, int64_t{s_off}, int64_t{b_off}}) {
    params.push_back(static_cast<uint32_t>(v));
  }
  vulkan::dispatch_elements(ctx, "dequantize_" + *vulkan::dtype_suffix(out.dtype()), bits, params,
                            {bw, bs, bb, bo}, packs, {group});
}

}  // namespace lamina::core
