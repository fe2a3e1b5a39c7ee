// The Matmul primitive: out[..., M, N] = a[..., M, K] @ b[..., K, N].
#pragma once

#include <ostream>

#include "libcore/ops/primitive.h"

namespace lamina::core {

// Inputs share one dtype and have at least 2 dims each. Their batch dims (all but the last
// two) broadcast against each other as NumPy does, without being materialized: the output
// batch shape is the broadcast one, and a size-1 or missing batch dim of an input is read
// with stride 0. The vjp sums the cotangents back over those broadcast dims. With a swiglu
// input the inputs are {gate, b, up} and a is swiglu(gate, up) (silu(gate) rounded to the
// dtype, times up), computed as the product reads it: a float MLP's down projection takes
// the gate and up projections' outputs in one kernel.
class Matmul : public Primitive {
 public:
  explicit Matmul(bool swiglu_input = false) : swiglu_input_(swiglu_input) {}
  LAMINA_PRIMITIVE(Matmul)
  LAMINA_VJP
  void print(std::ostream& os) const override;
  bool swiglu_input() const { return swiglu_input_; }

 private:
  bool swiglu_input_;
};

}  // namespace lamina::core
