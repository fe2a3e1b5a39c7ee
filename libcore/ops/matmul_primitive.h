// The Matmul primitive: out[..., M, N] = a[..., M, K] @ b[..., K, N].
#pragma once

#include "libcore/ops/primitive.h"

namespace lamina::core {

// Inputs share one dtype and have at least 2 dims each. Their batch dims (all but the last
// two) broadcast against each other as NumPy does, without being materialized: the output
// batch shape is the broadcast one, and a size-1 or missing batch dim of an input is read
// with stride 0. The vjp sums the cotangents back over those broadcast dims.
class Matmul : public Primitive {
 public:
  LAMINA_PRIMITIVE(Matmul)
  LAMINA_VJP
};

}  // namespace lamina::core
