// Primitives behind quant/quantized_ops.h.
#pragma once

#include <optional>

#include "libcore/ops/primitive.h"
#include "quant/quantized_ops.h"

namespace lamina::core {

// inputs {w [..., K]} -> float32 [..., K / group_size, 2]: MLX's (scale, bias) per group.
class AffineQuantParams : public Primitive {
 public:
  AffineQuantParams(int group_size, int bits) : group_size_(group_size), bits_(bits) {}
  LAMINA_PRIMITIVE(AffineQuantParams)
  void print(std::ostream& os) const override;
  int group_size() const { return group_size_; }
  int bits() const { return bits_; }

 private:
  int group_size_, bits_;
};

// inputs {w [..., K], params (AffineQuantParams of w)} -> uint32 [..., K * bits / 32].
class AffinePack : public Primitive {
 public:
  AffinePack(int group_size, int bits) : group_size_(group_size), bits_(bits) {}
  LAMINA_PRIMITIVE(AffinePack)
  void print(std::ostream& os) const override;
  int group_size() const { return group_size_; }
  int bits() const { return bits_; }

 private:
  int group_size_, bits_;
};

// inputs {wq, scales, biases} -> scales' dtype [..., K].
class AffineDequantize : public Primitive {
 public:
  AffineDequantize(int group_size, int bits) : group_size_(group_size), bits_(bits) {}
  LAMINA_PRIMITIVE(AffineDequantize)
  void print(std::ostream& os) const override;

 private:
  int group_size_, bits_;
};

// inputs {x [..., K], wq, scales, biases, [wq_up, scales_up, biases_up], [w], [c]} -> [..., N]
// (see quantized_matmul). Gated (fold_swiglu in libcore/ops/matmul_primitive.h): out =
// silu(g) * u of the products g with {wq, scales, biases} and u with the up operands (of the
// same shapes and dtypes), as Matmul documents. A
// backend without an int8 path may treat `activations` as float32. With a folded norm
// (norm_eps set, fold_norm in libcore/ops/matmul_primitive.h) x is the un-normalised input
// and w the norm's weight [K] of x's dtype: the product is of rms_norm(x, w), as Matmul
// documents. With an addend (fold_addend) the last input c, of the output's shape and
// dtype, is added to the float32 product before it is rounded to the output dtype.
class QuantizedMatmul : public Primitive {
 public:
  QuantizedMatmul(int group_size, int bits, bool transpose,
                  QuantizedActivations activations = QuantizedActivations::float32, bool addend = false,
                  std::optional<float> norm_eps = std::nullopt, bool gated = false)
      : group_size_(group_size),
        bits_(bits),
        transpose_(transpose),
        activations_(activations),
        addend_(addend),
        norm_eps_(norm_eps),
        gated_(gated) {}
  LAMINA_PRIMITIVE(QuantizedMatmul)
  LAMINA_VJP
  void print(std::ostream& os) const override;
  int group_size() const { return group_size_; }
  int bits() const { return bits_; }
  bool transpose() const { return transpose_; }
  QuantizedActivations activations() const { return activations_; }
  bool addend() const { return addend_; }
  // The eps of the folded rms_norm, if the product has one.
  const std::optional<float>& norm_eps() const { return norm_eps_; }
  bool gated() const { return gated_; }
  // The index of the folded norm's weight among the inputs.
  int norm_input() const { return gated_ ? 7 : 4; }

 private:
  int group_size_, bits_;
  bool transpose_;
  QuantizedActivations activations_;
  bool addend_;
  std::optional<float> norm_eps_;
  bool gated_;
};

}  // namespace lamina::core
