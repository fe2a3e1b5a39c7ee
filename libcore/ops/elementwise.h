// Elementwise ops: unary math, binary arithmetic and comparisons with NumPy broadcasting
// and MLX type promotion, and where(). Scalars given as double take the array's dtype.
#pragma once

#include "libcore/array/array.h"

namespace lamina::core {

// Unary. Math functions of integer arrays return float32.
Array negative(const Array& a);
Array abs(const Array& a);
Array exp(const Array& a);
Array log(const Array& a);
Array log1p(const Array& a);
Array sqrt(const Array& a);
Array rsqrt(const Array& a);
Array square(const Array& a);
Array sin(const Array& a);
Array cos(const Array& a);
Array tanh(const Array& a);
Array sigmoid(const Array& a);
Array erf(const Array& a);
Array silu(const Array& a);       // x * sigmoid(x)
Array gelu(const Array& a);       // exact: x * (1 + erf(x / sqrt 2)) / 2
Array gelu_tanh(const Array& a);  // tanh approximation
Array floor(const Array& a);
Array ceil(const Array& a);
Array round(const Array& a);  // half to even
Array sign(const Array& a);
Array logical_not(const Array& a);

// Binary, broadcasting. Division of integers returns float32.
Array add(const Array& a, const Array& b);
Array subtract(const Array& a, const Array& b);
Array multiply(const Array& a, const Array& b);
Array divide(const Array& a, const Array& b);
Array power(const Array& a, const Array& b);
// silu(a) * b, the gated MLP's activation, in one primitive (one pass, one GPU dispatch):
// the same values as the two ops (silu's result is rounded to the dtype first).
Array swiglu(const Array& a, const Array& b);
Array maximum(const Array& a, const Array& b);
Array minimum(const Array& a, const Array& b);
Array equal(const Array& a, const Array& b);
Array not_equal(const Array& a, const Array& b);
Array less(const Array& a, const Array& b);
Array less_equal(const Array& a, const Array& b);
Array greater(const Array& a, const Array& b);
Array greater_equal(const Array& a, const Array& b);
Array logical_and(const Array& a, const Array& b);
Array logical_or(const Array& a, const Array& b);

// Returns condition ? a : b elementwise (all three broadcast together).
Array where(const Array& condition, const Array& a, const Array& b);

// Returns a scalar array holding `value` in the dtype it should have next to `like`
// (like's dtype when it is floating, or when value is integral; float32 otherwise).
Array scalar_like(double value, const Array& like);

// Operators (scalars follow scalar_like).
Array operator-(const Array& a);
Array operator+(const Array& a, const Array& b);
Array operator-(const Array& a, const Array& b);
Array operator*(const Array& a, const Array& b);
Array operator/(const Array& a, const Array& b);
Array operator+(const Array& a, double b);
Array operator-(const Array& a, double b);
Array operator*(const Array& a, double b);
Array operator/(const Array& a, double b);
Array operator+(double a, const Array& b);
Array operator-(double a, const Array& b);
Array operator*(double a, const Array& b);
Array operator/(double a, const Array& b);

}  // namespace lamina::core
