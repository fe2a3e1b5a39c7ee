// Affine group quantization as lazy ops (MLX's mx.quantize / mx.dequantize /
// mx.quantized_matmul with mode "affine"): bit-exact with MLX's CPU results.
#pragma once

#include <string>

#include "libcore/array/array.h"

namespace lamina::core {

// How quantized_matmul treats x. float32: exact products in float32 (MLX's results).
// int8: x quantized to int8 in blocks of 32 values (absmax scale) and multiplied with
// integer dot products: faster on CPUs with AVX2 / VNNI, results off by the activation
// rounding (well under 1% in perplexity). Only the CPU's transposed product (x @ W^T, what
// every quantized Linear computes) uses int8; other products and devices stay float32.
enum class QuantizedActivations { float32, int8 };

// int8 when this CPU has a vector int8 kernel, else float32: what inference uses by default.
QuantizedActivations preferred_quantized_activations();
// "float32" or "int8".
const char* quantized_activations_name(QuantizedActivations activations);
// Parses "float32" or "int8"; throws lamina::Error naming the accepted values otherwise.
QuantizedActivations parse_quantized_activations(const std::string& name);

// Throws lamina::Error (prefixed by `what`) unless bits is 2, 3, 4, 5, 6 or 8 and group_size
// is 32, 64 or 128 (MLX's wording).
void check_quantization_params(int group_size, int bits, const std::string& what = "quantize");

// Throws lamina::Error naming `what` unless wq (uint32 [..., K * bits / 32]), scales and
// biases ([..., K / group_size], one floating dtype) fit together.
void check_quantized_shapes(const Array& wq, const Array& scales, const Array& biases,
                            int group_size, int bits, const std::string& what);

struct QuantizedArrays {
  Array weight;  // uint32 [..., K * bits / 32], codes packed LSB first
  Array scales;  // [..., K / group_size], w's dtype (float32 for a non-float w)
  Array biases;  // like scales
};

// Returns w ([..., K], K a multiple of group_size) quantized in groups of group_size
// consecutive values along the last axis.
QuantizedArrays quantize(const Array& w, int group_size = 64, int bits = 4);

// Returns the float weights [..., K] in the scales' dtype: code * scale + bias (MLX's two
// roundings).
Array dequantize(const Array& wq, const Array& scales, const Array& biases, int group_size = 64,
                 int bits = 4);

// Returns x @ W^T for transpose (W [N, K] quantized along K: wq [N, K * bits / 32]) or
// x @ W (W [K, N] quantized along N) for x [..., K], without materialising W. The result
// has x's leading dims and the promoted dtype of x and the scales; it accumulates in
// float32. Differentiable with respect to x only (the gradient is computed in float32
// whatever `activations` says).
Array quantized_matmul(const Array& x, const Array& wq, const Array& scales, const Array& biases,
                       bool transpose = true, int group_size = 64, int bits = 4,
                       QuantizedActivations activations = QuantizedActivations::float32);

}  // namespace lamina::core
