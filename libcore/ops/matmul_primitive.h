// The Matmul primitive: out[..., M, N] = a[..., M, K] @ b[..., K, N] (+ c).
#pragma once

#include <optional>
#include <ostream>

#include "libcore/ops/primitive.h"

namespace lamina::core {

// Inputs share one dtype and have at least 2 dims each. Their batch dims (all but the last
// two) broadcast against each other as NumPy does, without being materialized: the output
// batch shape is the broadcast one, and a size-1 or missing batch dim of an input is read
// with stride 0. The vjp sums the cotangents back over those broadcast dims. With an
// addend the inputs are {a, b, c}, c of the output's shape and dtype, and out = a @ b + c
// (the residual add of a projection, see fold_addend): the kernels add c to the product
// before rounding it to the dtype where they hold it in float32.
class Matmul : public Primitive {
 public:
  explicit Matmul(bool addend = false) : addend_(addend) {}
  LAMINA_PRIMITIVE(Matmul)
  LAMINA_VJP
  void print(std::ostream& os) const override;
  bool addend() const { return addend_; }

 private:
  bool addend_;
};

// add(c, product) as one node, or nothing: when `product` is a Matmul or QuantizedMatmul not
// evaluated yet and without an addend, and c has exactly its shape and a floating dtype
// equal to its dtype, the same product with c as its addend (the product's node stays for
// any other user). add() calls it for either argument order.
std::optional<Array> fold_addend(const Array& product, const Array& c);

}  // namespace lamina::core
