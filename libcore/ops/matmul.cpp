// matmul op builder (1-D promotion, batch broadcasting, dtype promotion), the vjp of the
// Matmul primitive, fold_addend (a residual add folded into the product before it) and
// fold_norm (the rms_norm before a product folded into it).
#include "libcore/ops/matmul.h"

#include <algorithm>
#include <memory>

#include "libcore/ops/fast.h"
#include "libcore/ops/fast_primitives.h"
#include "libcore/ops/matmul_primitive.h"
#include "libcore/ops/reduce.h"
#include "libcore/ops/views.h"
#include "quant/quantized_primitives.h"

namespace lamina::core {

namespace {

Shape batch_shape(const Array& a) { return Shape(a.shape().begin(), a.shape().end() - 2); }

// Returns x summed over the dims broadcasting added to go from `shape` to x's shape.
Array sum_to_shape(const Array& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  const int lead = x.ndim() - static_cast<int>(shape.size());
  std::vector<int> axes;
  for (int i = 0; i < x.ndim(); ++i) {
    if (i < lead || (shape[i - lead] == 1 && x.shape()[i] != 1)) axes.push_back(i);
  }
  return reshape(axes.empty() ? x : sum(x, axes, true), shape);
}

}  // namespace

Array matmul(const Array& a_in, const Array& b_in) {
  if (a_in.ndim() == 0 || b_in.ndim() == 0) {
    throw Error("matmul: operands need at least 1 dimension, got shapes " +
                shape_string(a_in.shape()) + " and " + shape_string(b_in.shape()));
  }
  const Dtype dtype = promote_types(a_in.dtype(), b_in.dtype());
  Array a = astype(a_in, dtype);
  Array b = astype(b_in, dtype);
  const bool a_vector = a.ndim() == 1;
  const bool b_vector = b.ndim() == 1;
  if (a_vector) a = reshape(a, {1, a.shape()[0]});
  if (b_vector) b = reshape(b, {b.shape()[0], 1});
  const int64_t M = a.shape()[a.ndim() - 2];
  const int64_t K = a.shape()[a.ndim() - 1];
  const int64_t N = b.shape()[b.ndim() - 1];
  if (b.shape()[b.ndim() - 2] != K) {
    throw Error("matmul: inner dimensions differ: " + shape_string(a_in.shape()) + " @ " +
                shape_string(b_in.shape()));
  }
  Shape shape;
  try {
    shape = broadcast_shapes(batch_shape(a), batch_shape(b));
  } catch (const Error&) {
    throw Error("matmul: batch dimensions of " + shape_string(a_in.shape()) + " and " +
                shape_string(b_in.shape()) + " cannot be broadcast together");
  }
  checked_shape_size(shape, "matmul batch");
  shape.push_back(M);
  shape.push_back(N);
  checked_shape_size(shape, "matmul output");
  // A pending rms_norm as a (a projection of a normalised residual stream): one node.
  const std::optional<FoldedNorm> norm = fold_norm(a, K);
  Array out = norm ? Array(shape, dtype, std::make_shared<Matmul>(false, norm->eps), {norm->x, b, norm->weight})
                   : Array(shape, dtype, std::make_shared<Matmul>(), {a, b});
  if (a_vector || b_vector) {
    Shape squeezed(shape.begin(), shape.end() - 2);
    if (!a_vector) squeezed.push_back(M);
    if (!b_vector) squeezed.push_back(N);
    out = reshape(out, squeezed);
  }
  return out;
}

std::optional<Array> fold_addend(const Array& product, const Array& c) {
  // As slice_update folds a pending rope: only a node not evaluated yet, and c as it is (no
  // broadcast, no promotion), so that the fused node's value is the add's.
  if (product.is_evaluated() || c.shape() != product.shape() || c.dtype() != product.dtype() ||
      !is_floating(c.dtype())) {
    return std::nullopt;
  }
  std::shared_ptr<Primitive> fused;
  const Primitive* p = product.primitive().get();
  if (const auto* m = dynamic_cast<const Matmul*>(p); m && !m->addend()) {
    fused = std::make_shared<Matmul>(true, m->norm_eps());
  } else if (const auto* q = dynamic_cast<const QuantizedMatmul*>(p); q && !q->addend()) {
    fused = std::make_shared<QuantizedMatmul>(q->group_size(), q->bits(), q->transpose(), q->activations(), true,
                                              q->norm_eps());
  } else {
    return std::nullopt;
  }
  std::vector<Array> inputs = product.inputs();
  inputs.push_back(c);
  return Array(product.shape(), product.dtype(), std::move(fused), std::move(inputs));
}

std::optional<FoldedNorm> fold_norm(const Array& a, int64_t k) {
  const auto* norm = a.is_evaluated() ? nullptr : dynamic_cast<const RmsNorm*>(a.primitive().get());
  if (!norm || !norm->has_weight() || norm->has_residual()) return std::nullopt;
  const Array& x = a.inputs()[0];
  const Array& weight = a.inputs()[1];
  if (weight.dtype() != x.dtype() || x.ndim() < 1 || x.shape().back() != k || weight.shape() != Shape{k} ||
      x.size() / std::max<int64_t>(k, 1) > kFoldNormMaxRows) {
    return std::nullopt;
  }
  return FoldedNorm{x, weight, norm->eps()};
}

Array rms_norm_now(const Array& x, const Array& weight, float eps, const Device& device) {
  RmsNorm norm(eps, true);
  Array y(x.shape(), x.dtype(), nullptr, {});
  y.set_device(device);
  eval_primitive(norm, {x, weight}, y);
  return y;
}

Array folded_norm_grad(const Array& x, const Array& weight, float eps, const Array& dy, int which) {
  return RmsNorm(eps, true).vjp({x, weight}, dy, {which}, dy)[0];
}

void Matmul::print(std::ostream& os) const {
  os << (norm_eps_ ? (addend_ ? "Matmul(rms_norm, +c)" : "Matmul(rms_norm)") : addend_ ? "Matmul(+c)" : "Matmul");
}

std::vector<Array> Matmul::vjp(const std::vector<Array>& inputs, const Array& g,
                               const std::vector<int>& argnums, const Array&) {
  // With a folded norm the product's left operand is rms_norm(x, w), built again here (as
  // its own node: nothing below takes it as a matmul's left operand, so nothing re-folds).
  const Array a = norm_eps_ ? fast::rms_norm(inputs[0], inputs[2], *norm_eps_) : inputs[0];
  const Array& b = inputs[1];
  std::optional<Array> da;  // the cotangent of a
  std::vector<Array> grads;
  for (int k : argnums) {
    if (addend_ && k == static_cast<int>(inputs.size()) - 1) {
      grads.push_back(g);
      continue;
    }
    if (k != 1) {
      // dA = g @ B^T, summed over the batch dims A was broadcast along; through the norm's
      // vjp for x and w when there is one.
      if (!da) da = sum_to_shape(matmul(g, swapaxes(b, -1, -2)), a.shape());
      grads.push_back(norm_eps_ ? folded_norm_grad(inputs[0], inputs[2], *norm_eps_, *da, k == 0 ? 0 : 1) : *da);
      continue;
    }
    const int64_t K = a.shape()[a.ndim() - 1];
    const int64_t N = b.shape()[b.ndim() - 1];
    if (g.ndim() > 2 && shape_size(batch_shape(b)) == 1 && a.size() > 0 && K > 0) {
      // B is shared by every batch (a weight): dB = A^T @ g over all rows at once, one
      // GEMM instead of a stack of [K, N] products that would then be summed.
      Shape a_shape = batch_shape(g);
      a_shape.push_back(a.shape()[a.ndim() - 2]);
      a_shape.push_back(K);
      Array rows = reshape(broadcast_to(a, a_shape), {-1, K});
      Array db = matmul(transpose(rows), reshape(g, {-1, N}));
      grads.push_back(reshape(db, b.shape()));
    } else {
      // dB = A^T @ g, summed over the batch dims B was broadcast along.
      grads.push_back(sum_to_shape(matmul(swapaxes(a, -1, -2), g), b.shape()));
    }
  }
  return grads;
}

}  // namespace lamina::core
