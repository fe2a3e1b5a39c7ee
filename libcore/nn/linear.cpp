// Linear and Embedding, float or affine-quantized.
#include "libcore/nn/linear.h"

#include "libcore/ops/indexing.h"
#include "libcore/ops/matmul.h"
#include "libcore/ops/ops.h"

namespace lamina::nn {

using namespace lamina::core;

QuantizedWeight QuantizedWeight::rows(int64_t start, int64_t stop) const {
  return {slice_axis(weight, 0, start, stop), slice_axis(scales, 0, start, stop),
          slice_axis(biases, 0, start, stop), group_size, bits, activations};
}

Array QuantizedWeight::dequantized() const {
  return dequantize(weight, scales, biases, group_size, bits);
}

QuantizedWeight load_quantized_weight(WeightMap& w, const std::string& prefix, int64_t in,
                                      int64_t out) {
  Array weight = w.take(prefix + ".weight");
  Array scales = w.take(prefix + ".scales");
  Array biases = w.take(prefix + ".biases");
  const std::string where = w.source() + ": quantized '" + prefix + "'";
  if (weight.ndim() != 2 || weight.shape(0) != out || scales.ndim() != 2 ||
      scales.shape(0) != out || scales.shape(1) <= 0 || in % scales.shape(1) != 0 ||
      (weight.shape(1) * 32) % in != 0) {
    throw Error(where + ": weight " + shape_string(weight.shape()) + " and scales " +
                shape_string(scales.shape()) + " do not fit a [" + std::to_string(out) + ", " +
                std::to_string(in) + "] layer");
  }
  QuantizedWeight q{weight, scales, biases, static_cast<int>(in / scales.shape(1)),
                    static_cast<int>(weight.shape(1) * 32 / in), w.quantized_activations()};
  check_quantized_shapes(q.weight, q.scales, q.biases, q.group_size, q.bits, where);
  return q;
}

Linear Linear::load(WeightMap& w, const std::string& prefix, int64_t in, int64_t out, bool bias) {
  std::optional<Array> b;
  if (bias) b = w.take(prefix + ".bias", {out});
  if (w.contains(prefix + ".scales")) return Linear(load_quantized_weight(w, prefix, in, out), b);
  return Linear(w.take(prefix + ".weight", {out, in}), b);
}

Array Linear::base(const Array& x) const {
  Array y = quantized_ ? quantized_matmul(x, quantized_->weight, quantized_->scales,
                                          quantized_->biases, true, quantized_->group_size,
                                          quantized_->bits, quantized_->activations)
                       : matmul(x, transpose(weight_));
  return bias_ ? y + *bias_ : y;
}

Array Linear::operator()(const Array& x) const { return adapter_ ? adapter_->apply(*this, x) : base(x); }

std::vector<Array*> Linear::trainable_parameters() {
  if (adapter_) return adapter_->parameters();
  std::vector<Array*> out;
  if (weight_trainable_ && !quantized_) {
    out.push_back(&weight_);
    if (bias_) out.push_back(&*bias_);
  }
  return out;
}

Array Linear::dense_weight() const { return quantized_ ? quantized_->dequantized() : weight_; }

Linear Linear::rows(int64_t start, int64_t stop) const {
  std::optional<Array> b;
  if (bias_) b = slice_axis(*bias_, 0, start, stop);
  if (quantized_) return Linear(quantized_->rows(start, stop), b);
  return Linear(slice_axis(weight_, 0, start, stop), b);
}

Embedding Embedding::load(WeightMap& w, const std::string& prefix, int64_t vocab, int64_t dim) {
  if (w.contains(prefix + ".scales")) return Embedding(load_quantized_weight(w, prefix, dim, vocab));
  return Embedding(w.take(prefix + ".weight", {vocab, dim}));
}

Array Embedding::operator()(const Array& ids) const {
  if (!quantized_) return take(weight_, ids, 0);
  // mlx-lm's QuantizedEmbedding: gather the packed rows, dequantize only those.
  return dequantize(take(quantized_->weight, ids, 0), take(quantized_->scales, ids, 0),
                    take(quantized_->biases, ids, 0), quantized_->group_size, quantized_->bits);
}

Array Embedding::as_linear(const Array& x) const {
  if (!quantized_) return matmul(x, transpose(weight_));
  return quantized_matmul(x, quantized_->weight, quantized_->scales, quantized_->biases, true,
                          quantized_->group_size, quantized_->bits, quantized_->activations);
}

}  // namespace lamina::nn
