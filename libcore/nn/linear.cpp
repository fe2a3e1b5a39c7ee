// Linear and Embedding.
#include "libcore/nn/linear.h"

#include "libcore/ops/indexing.h"
#include "libcore/ops/matmul.h"
#include "libcore/ops/ops.h"

namespace lamina::nn {

using namespace lamina::core;

Linear Linear::load(WeightMap& w, const std::string& prefix, int64_t in, int64_t out, bool bias) {
  Array weight = w.take(prefix + ".weight", {out, in});
  std::optional<Array> b;
  if (bias) b = w.take(prefix + ".bias", {out});
  return Linear(weight, b);
}

Array Linear::operator()(const Array& x) const {
  Array y = matmul(x, transpose(weight_));
  return bias_ ? y + *bias_ : y;
}

Embedding Embedding::load(WeightMap& w, const std::string& prefix, int64_t vocab, int64_t dim) {
  return Embedding(w.take(prefix + ".weight", {vocab, dim}));
}

Array Embedding::operator()(const Array& ids) const { return take(weight_, ids, 0); }

Array Embedding::as_linear(const Array& x) const { return matmul(x, transpose(weight_)); }

}  // namespace lamina::nn
