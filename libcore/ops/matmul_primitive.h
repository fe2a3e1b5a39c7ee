// The Matmul primitive: out[..., M, N] = a[..., M, K] @ b[..., K, N] (+ c), a optionally
// rms_norm(x, w) computed by the product itself, or swiglu(a @ b, a @ b_up) (gated).
#pragma once

#include <memory>
#include <optional>
#include <ostream>
#include <vector>

#include "libcore/ops/primitive.h"

namespace lamina::core {

// Inputs share one dtype and have at least 2 dims each. Their batch dims (all but the last
// two) broadcast against each other as NumPy does, without being materialized: the output
// batch shape is the broadcast one, and a size-1 or missing batch dim of an input is read
// with stride 0. The vjp sums the cotangents back over those broadcast dims.
// Inputs {a, b, [b_up], [w], [c]}:
// - gated (see fold_swiglu): b_up of b's shape and dtype, and out = silu(g) * u with
//   g = a @ b and u = a @ b_up (each with the folded norm when there is one). The matvec
//   kernels hold g and u in float32 and round out once; the CPU and the GPU's tiles
//   compute g and u as two products into temporaries and then swiglu (SiluMultiply's
//   kernel), as the unfused ops did: differences at the dtype's rounding level. A gated
//   product takes no addend (fold_addend leaves it).
// - with a folded norm (norm_eps set, see fold_norm) a is the un-normalised x and w the
//   norm's weight [K] of x's dtype: per row r = 1 / sqrt(mean_k(x_k^2) + eps) in float32
//   and out[n] = r * sum_k (x_k * w_k) * b[k, n]. The unfused path rounded the normalised
//   row to the dtype first; the matvec kernels do not (the CPU and the GPU's tiles, which
//   normalise the rows before the product, do): differences at the dtype's rounding level.
// - with an addend (the residual add of a projection, see fold_addend) c is of the
//   output's shape and dtype and out = a @ b + c: the kernels add c to the product before
//   rounding it to the dtype where they hold it in float32.
class Matmul : public Primitive {
 public:
  explicit Matmul(bool addend = false, std::optional<float> norm_eps = std::nullopt, bool gated = false)
      : addend_(addend), norm_eps_(norm_eps), gated_(gated) {}
  LAMINA_PRIMITIVE(Matmul)
  LAMINA_VJP
  void print(std::ostream& os) const override;
  bool addend() const { return addend_; }
  // The eps of the folded rms_norm, if the product has one.
  const std::optional<float>& norm_eps() const { return norm_eps_; }
  bool gated() const { return gated_; }
  // The index of the folded norm's weight among the inputs.
  int norm_input() const { return gated_ ? 3 : 2; }

 private:
  bool addend_;
  std::optional<float> norm_eps_;
  bool gated_;
};

// add(c, product) as one node, or nothing: when `product` is a Matmul or QuantizedMatmul not
// evaluated yet and without an addend, and c has exactly its shape and a floating dtype
// equal to its dtype, the same product with c as its addend (the product's node stays for
// any other user). add() calls it for either argument order.
std::optional<Array> fold_addend(const Array& product, const Array& c);

// The parts of a pending rms_norm a product can compute itself.
struct FoldedNorm {
  Array x, weight;
  float eps;
};
// The norm of `a`, the left operand of a product over k, or nothing: when a is a RmsNorm
// node not evaluated yet, with a weight of x's dtype and no residual, over x's last dim of
// size k. matmul() and quantized_matmul() then build one node taking x and the weight (the
// RmsNorm node stays for any other user).
// Only for x of at most kFoldNormMaxRows rows (a decode step), whose matvec kernels apply
// the norm as they load x: a larger product normalises its rows before the product, once
// per product, so the q/k/v projections of a prompt would each normalise the same rows
// and wait for it (on an H200, 512-token prefill 21.2k -> 17.7k tok/s when they did).
constexpr int64_t kFoldNormMaxRows = 4;
std::optional<FoldedNorm> fold_norm(const Array& a, int64_t k);

// rms_norm(x, weight, eps) evaluated now on `device` by RmsNorm's own kernel: the rows of
// a product with a folded norm, for the kernels that normalise before the product instead
// of as they load x (the CPU, the GPU's tiles).
Array rms_norm_now(const Array& x, const Array& weight, float eps, const Device& device);

// swiglu(a, b) as one node, or nothing: when a and b are pending products of the same
// kind that one kernel can compute together (both Matmul, or both QuantizedMatmul with the
// same group size, bits, transpose and activations; the same x node, the same folded norm
// or none, no addend, operands of equal shapes and dtypes, at most kFoldNormMaxRows rows
// of x: a decode step), the gated product of a's operands and b's (the MLP's gate and up
// projections: one matvec whose outputs are silu(g) * u). swiglu() calls it.
std::optional<Array> fold_swiglu(const Array& a, const Array& b);

// A gated product seen as its two halves: `half` the same product without the gate, and
// the inputs of its gate product (x, the gate operands, [w]) and up product.
struct GatedHalves {
  std::shared_ptr<Primitive> half;
  std::vector<Array> gate, up;
  int operands;  // weight operands per half: 1 for Matmul, 3 for QuantizedMatmul
};
// The halves of gated product `p` (a Matmul or QuantizedMatmul) with these inputs.
GatedHalves gated_halves(const Primitive& p, const std::vector<Array>& inputs);
// out = swiglu(gate product, up product) evaluated now: each half by its own kernel on
// `device` into a temporary of out's shape and dtype, then SiluMultiply's kernel (on the
// CPU unless device is a GPU).
void eval_gated_now(const GatedHalves& halves, const Device& device, Array& out);
// The vjp of gated product `p`: through SiluMultiply's vjp and the halves' vjps (the
// halves built as nodes of their own, which nothing folds again).
std::vector<Array> gated_vjp(const Primitive& p, const std::vector<Array>& inputs, const Array& out, const Array& g,
                             const std::vector<int>& argnums);

// The cotangent of a folded norm's x (which = 0) or weight (which = 1) from the cotangent
// dy of the normalised rows (RmsNorm's vjp).
Array folded_norm_grad(const Array& x, const Array& weight, float eps, const Array& dy, int which);

}  // namespace lamina::core
