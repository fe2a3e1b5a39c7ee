// matmul op builder (1-D promotion, batch broadcasting, dtype promotion), the vjp of the
// Matmul primitive, and fold_addend (a residual add folded into the product before it).
#include "libcore/ops/matmul.h"

#include <memory>

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
  Array out(shape, dtype, std::make_shared<Matmul>(), {a, b});
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
    fused = std::make_shared<Matmul>(true);
  } else if (const auto* q = dynamic_cast<const QuantizedMatmul*>(p); q && !q->addend()) {
    fused = std::make_shared<QuantizedMatmul>(q->group_size(), q->bits(), q->transpose(), q->activations(), true);
  } else {
    return std::nullopt;
  }
  std::vector<Array> inputs = product.inputs();
  inputs.push_back(c);
  return Array(product.shape(), product.dtype(), std::move(fused), std::move(inputs));
}

void Matmul::print(std::ostream& os) const { os << (addend_ ? "Matmul(+c)" : "Matmul"); }

std::vector<Array> Matmul::vjp(const std::vector<Array>& inputs, const Array& g,
                               const std::vector<int>& argnums, const Array&) {
  const Array& a = inputs[0];
  const Array& b = inputs[1];
  std::vector<Array> grads;
  for (int k : argnums) {
    if (k == 2) {  // the addend
      grads.push_back(g);
      continue;
    }
    if (k == 0) {
      // dA = g @ B^T, summed over the batch dims A was broadcast along.
      grads.push_back(sum_to_shape(matmul(g, swapaxes(b, -1, -2)), a.shape()));
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
