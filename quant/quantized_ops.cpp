// Op builders of affine quantization (argument checks, output shapes; a pending rms_norm
// of quantized_matmul's x folded into the product, see fold_norm) and the vjp of
// QuantizedMatmul.
#include "quant/quantized_ops.h"

#include <algorithm>
#include <memory>

#include "kernels/cpu/quantized_int8.h"
#include "libcore/ops/matmul_primitive.h"
#include "libcore/ops/views.h"
#include "quant/quantized_primitives.h"

namespace lamina::core {

namespace {

Shape with_last(const Shape& shape, int64_t last) {
  Shape s = shape;
  s.back() = last;
  return s;
}

}  // namespace

QuantizedActivations preferred_quantized_activations() {
  return kernels::best_int8_isa() == kernels::Int8Isa::scalar ? QuantizedActivations::float32
                                                               : QuantizedActivations::int8;
}

const char* quantized_activations_name(QuantizedActivations activations) {
  return activations == QuantizedActivations::int8 ? "int8" : "float32";
}

QuantizedActivations parse_quantized_activations(const std::string& name) {
  if (name == "float32") return QuantizedActivations::float32;
  if (name == "int8") return QuantizedActivations::int8;
  throw Error("quantized activations must be float32 or int8, got '" + name + "'");
}

void check_quantization_params(int group_size, int bits, const std::string& what) {
  if (bits != 2 && bits != 3 && bits != 4 && bits != 5 && bits != 6 && bits != 8) {
    throw Error(what + ": the requested number of bits " + std::to_string(bits) +
                " is not supported (supported: 2, 3, 4, 5, 6 and 8)");
  }
  if (group_size != 32 && group_size != 64 && group_size != 128) {
    throw Error(what + ": the requested group size " + std::to_string(group_size) +
                " is not supported (supported: 32, 64 and 128)");
  }
}

void check_quantized_shapes(const Array& wq, const Array& scales, const Array& biases,
                            int group_size, int bits, const std::string& what) {
  check_quantization_params(group_size, bits, what);
  if (wq.dtype() != Dtype::uint32) {
    throw Error(what + ": packed weight must be uint32, got " + dtype_name(wq.dtype()));
  }
  if (wq.ndim() < 1) throw Error(what + ": packed weight must have at least 1 dimension");
  if (!is_floating(scales.dtype()) || scales.dtype() != biases.dtype()) {
    throw Error(what + ": scales and biases must share one floating dtype, got " +
                dtype_name(scales.dtype()) + " and " + dtype_name(biases.dtype()));
  }
  const int64_t K = wq.shape().back() * 32 / bits;
  const Shape expected = with_last(wq.shape(), K / group_size);
  if ((wq.shape().back() * 32) % bits != 0 || K % group_size != 0 ||
      scales.shape() != expected || biases.shape() != expected) {
    throw Error(what + ": scales " + shape_string(scales.shape()) + " and biases " +
                shape_string(biases.shape()) + " do not fit a " + std::to_string(bits) +
                "-bit weight " + shape_string(wq.shape()) + " with group size " +
                std::to_string(group_size) + " (expected " + shape_string(expected) + ")");
  }
}

QuantizedArrays quantize(const Array& w, int group_size, int bits) {
  check_quantization_params(group_size, bits, "quantize");
  if (w.ndim() < 1) throw Error("quantize: the array to quantize needs at least 1 dimension");
  if (!is_floating(w.dtype())) {
    throw Error(std::string("quantize: only floating arrays can be quantized, got ") +
                dtype_name(w.dtype()));
  }
  const int64_t K = w.shape().back();
  if (K % group_size != 0) {
    throw Error("quantize: the last dimension of shape " + shape_string(w.shape()) +
                " is not divisible by the group size " + std::to_string(group_size));
  }
  Shape params_shape = with_last(w.shape(), K / group_size);
  params_shape.push_back(2);
  Array params(params_shape, Dtype::float32,
               std::make_shared<AffineQuantParams>(group_size, bits), {w});
  Array packed(with_last(w.shape(), K * bits / 32), Dtype::uint32,
               std::make_shared<AffinePack>(group_size, bits), {w, params});
  const int last = params.ndim() - 1;
  Array scales = astype(squeeze(slice_axis(params, last, 0, 1), {last}), w.dtype());
  Array biases = astype(squeeze(slice_axis(params, last, 1, 2), {last}), w.dtype());
  return {packed, scales, biases};
}

Array dequantize(const Array& wq, const Array& scales, const Array& biases, int group_size,
                 int bits) {
  check_quantized_shapes(wq, scales, biases, group_size, bits, "dequantize");
  const int64_t K = wq.shape().back() * 32 / bits;
  return Array(with_last(wq.shape(), K), scales.dtype(),
               std::make_shared<AffineDequantize>(group_size, bits), {wq, scales, biases});
}

Array quantized_matmul(const Array& x, const Array& wq, const Array& scales, const Array& biases,
                       bool transpose, int group_size, int bits,
                       QuantizedActivations activations) {
  check_quantized_shapes(wq, scales, biases, group_size, bits, "quantized_matmul");
  if (wq.ndim() != 2) {
    throw Error("quantized_matmul: the quantized weight must be 2-D, got " +
                shape_string(wq.shape()));
  }
  if (x.ndim() < 1 || !is_floating(x.dtype())) {
    throw Error("quantized_matmul: x must be a floating array with at least 1 dimension");
  }
  const int64_t packed_cols = wq.shape()[1] * 32 / bits;
  const int64_t K = transpose ? packed_cols : wq.shape()[0];
  const int64_t N = transpose ? wq.shape()[0] : packed_cols;
  if (x.shape().back() != K) {
    throw Error("quantized_matmul: x " + shape_string(x.shape()) + " does not fit a weight of " +
                std::to_string(K) + " inputs (packed " + shape_string(wq.shape()) + ", " +
                std::to_string(bits) + " bits" + (transpose ? ", transposed" : "") + ")");
  }
  const Shape shape = with_last(x.shape(), N);
  const Dtype dtype = promote_types(x.dtype(), scales.dtype());
  if (const std::optional<FoldedNorm> norm = fold_norm(x, K)) {
    return Array(shape, dtype,
                 std::make_shared<QuantizedMatmul>(group_size, bits, transpose, activations, false, norm->eps),
                 {norm->x, wq, scales, biases, norm->weight});
  }
  return Array(shape, dtype, std::make_shared<QuantizedMatmul>(group_size, bits, transpose, activations),
               {x, wq, scales, biases});
}

std::vector<Array> QuantizedMatmul::vjp(const std::vector<Array>& inputs, const Array& g,
                                        const std::vector<int>& argnums, const Array& out) {
  if (gated_) return gated_vjp(*this, inputs, out, g, argnums);
  std::vector<Array> grads;
  std::optional<Array> dx;  // the cotangent of x (of rms_norm(x, w) with a folded norm)
  for (int k : argnums) {
    if (addend_ && k == static_cast<int>(inputs.size()) - 1) {
      grads.push_back(g);
      continue;
    }
    if (k != 0 && !(norm_eps_ && k == 4)) {
      throw Error("quantized_matmul: no gradient with respect to the quantized weight, scales "
                  "or biases");
    }
    if (!dx) {
      dx = astype(quantized_matmul(g, inputs[1], inputs[2], inputs[3], !transpose_, group_size_, bits_),
                  inputs[0].dtype());
    }
    grads.push_back(norm_eps_ ? folded_norm_grad(inputs[0], inputs[4], *norm_eps_, *dx, k == 0 ? 0 : 1) : *dx);
  }
  return grads;
}

void AffineQuantParams::print(std::ostream& os) const {
  os << "AffineQuantParams(group_size=" << group_size_ << ", bits=" << bits_ << ")";
}
void AffinePack::print(std::ostream& os) const {
  os << "AffinePack(group_size=" << group_size_ << ", bits=" << bits_ << ")";
}
void AffineDequantize::print(std::ostream& os) const {
  os << "AffineDequantize(group_size=" << group_size_ << ", bits=" << bits_ << ")";
}
void QuantizedMatmul::print(std::ostream& os) const {
  os << "QuantizedMatmul(group_size=" << group_size_ << ", bits=" << bits_
     << (transpose_ ? ", transpose" : "")
     << (activations_ == QuantizedActivations::int8 ? ", int8 activations" : "")
     << (norm_eps_ ? ", rms_norm" : "") << (gated_ ? ", swiglu" : "") << (addend_ ? ", +c" : "") << ")";
}

}  // namespace lamina::core
