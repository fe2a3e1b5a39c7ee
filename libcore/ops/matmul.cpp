// matmul op builder (1-D promotion, batch broadcasting, dtype promotion), the vjp of the
// Matmul primitive, fold_addend (a residual add folded into the product before it),
// fold_norm (the rms_norm before a product folded into it) and fold_swiglu (the gate and
// up products of an MLP as one gated product).
#include "libcore/ops/matmul.h"

#include <algorithm>
#include <memory>

#include "libcore/ops/elementwise.h"
#include "libcore/ops/elementwise_primitives.h"
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
  if (const auto* m = dynamic_cast<const Matmul*>(p); m && !m->addend() && !m->gated()) {
    fused = std::make_shared<Matmul>(true, m->norm_eps());
  } else if (const auto* q = dynamic_cast<const QuantizedMatmul*>(p); q && !q->addend() && !q->gated()) {
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

std::optional<Array> fold_swiglu(const Array& a, const Array& b) {
  if (a.is_evaluated() || b.is_evaluated() || a.shape() != b.shape() || a.dtype() != b.dtype() ||
      !is_floating(a.dtype())) {
    return std::nullopt;
  }
  const Primitive *pa = a.primitive().get(), *pb = b.primitive().get();
  std::shared_ptr<Primitive> fused;
  int operands = 1;
  std::optional<float> eps;
  const auto *ma = dynamic_cast<const Matmul*>(pa), *mb = dynamic_cast<const Matmul*>(pb);
  const auto *qa = dynamic_cast<const QuantizedMatmul*>(pa), *qb = dynamic_cast<const QuantizedMatmul*>(pb);
  if (ma && mb && !ma->addend() && !mb->addend() && !ma->gated() && !mb->gated() &&
      ma->norm_eps() == mb->norm_eps()) {
    eps = ma->norm_eps();
    fused = std::make_shared<Matmul>(false, eps, true);
  } else if (qa && qb && !qa->addend() && !qb->addend() && !qa->gated() && !qb->gated() &&
             qa->norm_eps() == qb->norm_eps() && qa->group_size() == qb->group_size() && qa->bits() == qb->bits() &&
             qa->transpose() == qb->transpose() && qa->activations() == qb->activations()) {
    eps = qa->norm_eps();
    fused = std::make_shared<QuantizedMatmul>(qa->group_size(), qa->bits(), qa->transpose(), qa->activations(), false,
                                              eps, true);
    operands = 3;
  } else {
    return std::nullopt;
  }
  // The same x (and norm weight), weight operands alike, a decode step's rows.
  const std::vector<Array>&in_a = a.inputs(), &in_b = b.inputs();
  const Array& x = in_a[0];
  if (in_a.size() != in_b.size() || x.id() != in_b[0].id() || (eps && in_a.back().id() != in_b.back().id()) ||
      x.size() / std::max<int64_t>(x.shape().back(), 1) > kFoldNormMaxRows) {
    return std::nullopt;
  }
  for (int i = 1; i <= operands; ++i) {
    if (in_a[i].shape() != in_b[i].shape() || in_a[i].dtype() != in_b[i].dtype()) return std::nullopt;
  }
  // {x, a's operands, b's operands, [w]}.
  std::vector<Array> inputs(in_a.begin(), in_a.begin() + 1 + operands);
  inputs.insert(inputs.end(), in_b.begin() + 1, in_b.begin() + 1 + operands);
  if (eps) inputs.push_back(in_a.back());
  return Array(a.shape(), a.dtype(), std::move(fused), std::move(inputs));
}

GatedHalves gated_halves(const Primitive& p, const std::vector<Array>& inputs) {
  GatedHalves h;
  if (const auto* m = dynamic_cast<const Matmul*>(&p)) {
    h.half = std::make_shared<Matmul>(false, m->norm_eps());
    h.operands = 1;
  } else {
    const auto& q = dynamic_cast<const QuantizedMatmul&>(p);
    h.half = std::make_shared<QuantizedMatmul>(q.group_size(), q.bits(), q.transpose(), q.activations(), false,
                                               q.norm_eps());
    h.operands = 3;
  }
  const auto first_up = inputs.begin() + 1 + h.operands, norm = first_up + h.operands;
  h.gate.assign(inputs.begin(), first_up);
  h.up.assign(first_up, norm);
  h.up.insert(h.up.begin(), inputs[0]);
  h.gate.insert(h.gate.end(), norm, inputs.end());  // the norm's weight, if any
  h.up.insert(h.up.end(), norm, inputs.end());
  return h;
}

void eval_gated_now(const GatedHalves& halves, const Device& device, Array& out) {
  std::vector<Array> products;
  for (const std::vector<Array>* inputs : {&halves.gate, &halves.up}) {
    Array y(out.shape(), out.dtype(), nullptr, {});
    y.set_device(device);
    eval_primitive(*halves.half, *inputs, y);
    products.push_back(y);
  }
  SiluMultiply swiglu;
  if (device.type == Device::Type::vulkan) {
    eval_primitive(swiglu, products, out);
  } else {
    swiglu.eval_cpu(products, out);
  }
}

std::vector<Array> gated_vjp(const Primitive& p, const std::vector<Array>& inputs, const Array& out, const Array& g,
                             const std::vector<int>& argnums) {
  const GatedHalves h = gated_halves(p, inputs);
  const int n = h.operands;
  // The two products as nodes of their own (not through swiglu(): nothing folds them again).
  const Array gate(out.shape(), out.dtype(), h.half, h.gate), up(out.shape(), out.dtype(), h.half, h.up);
  const std::vector<Array> d = SiluMultiply().vjp({gate, up}, g, {0, 1}, out);
  std::vector<Array> grads;
  for (int k : argnums) {
    if (k == 0 || k > 2 * n) {  // x or the norm's weight: through both products
      const int i = k == 0 ? 0 : n + 1;
      grads.push_back(h.half->vjp(h.gate, d[0], {i}, gate)[0] + h.half->vjp(h.up, d[1], {i}, up)[0]);
    } else {
      grads.push_back(k <= n ? h.half->vjp(h.gate, d[0], {k}, gate)[0] : h.half->vjp(h.up, d[1], {k - n}, up)[0]);
    }
  }
  return grads;
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
  os << "Matmul";
  const char* sep = "(";
  for (const auto& [on, what] : {std::pair{norm_eps_.has_value(), "rms_norm"}, {gated_, "swiglu"}, {addend_, "+c"}}) {
    if (!on) continue;
    os << sep << what;
    sep = ", ";
  }
  if (*sep == ',') os << ")";
}

std::vector<Array> Matmul::vjp(const std::vector<Array>& inputs, const Array& g,
                               const std::vector<int>& argnums, const Array& out) {
  if (gated_) return gated_vjp(*this, inputs, out, g, argnums);
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
