// Elementwise op builders: cast and broadcast the inputs, then add one primitive node.
#include "libcore/ops/elementwise.h"

#include <cmath>
#include <memory>

#include "libcore/ops/elementwise_primitives.h"
#include "libcore/ops/matmul_primitive.h"
#include "libcore/ops/views.h"

namespace lamina::core {

namespace {

template <typename P>
Array unary_node(const Array& a) {
  return Array(a.shape(), a.dtype(), std::make_shared<P>(), {a});
}

// Math functions compute in a floating dtype.
Array as_floating(const Array& a) { return is_floating(a.dtype()) ? a : astype(a, Dtype::float32); }

template <typename P>
Array binary_node(const Array& a, const Array& b, Dtype compute, Dtype out_dtype) {
  auto inputs = broadcast_arrays({astype(a, compute), astype(b, compute)});
  Shape shape = inputs[0].shape();
  return Array(std::move(shape), out_dtype, std::make_shared<P>(), std::move(inputs));
}

template <typename P>
Array arithmetic(const Array& a, const Array& b) {
  Dtype t = promote_types(a.dtype(), b.dtype());
  if (t == Dtype::bool_) t = Dtype::uint8;  // arithmetic on booleans counts in uint8
  return binary_node<P>(a, b, t, t);
}

template <typename P>
Array comparison(const Array& a, const Array& b) {
  return binary_node<P>(a, b, promote_types(a.dtype(), b.dtype()), Dtype::bool_);
}

}  // namespace

Array negative(const Array& a) {
  if (a.dtype() == Dtype::bool_) throw Error("negative: not defined for bool arrays");
  return unary_node<Negative>(a);
}
Array abs(const Array& a) { return unary_node<Abs>(a); }
Array exp(const Array& a) { return unary_node<Exp>(as_floating(a)); }
Array log(const Array& a) { return unary_node<Log>(as_floating(a)); }
Array log1p(const Array& a) { return unary_node<Log1p>(as_floating(a)); }
Array sqrt(const Array& a) { return unary_node<Sqrt>(as_floating(a)); }
Array rsqrt(const Array& a) { return unary_node<Rsqrt>(as_floating(a)); }
Array square(const Array& a) { return unary_node<Square>(a); }
Array sin(const Array& a) { return unary_node<Sin>(as_floating(a)); }
Array cos(const Array& a) { return unary_node<Cos>(as_floating(a)); }
Array tanh(const Array& a) { return unary_node<Tanh>(as_floating(a)); }
Array sigmoid(const Array& a) { return unary_node<Sigmoid>(as_floating(a)); }
Array erf(const Array& a) { return unary_node<Erf>(as_floating(a)); }
Array silu(const Array& a) { return unary_node<Silu>(as_floating(a)); }
Array gelu(const Array& a) { return unary_node<Gelu>(as_floating(a)); }
Array gelu_tanh(const Array& a) { return unary_node<GeluTanh>(as_floating(a)); }
Array floor(const Array& a) { return unary_node<Floor>(a); }
Array ceil(const Array& a) { return unary_node<Ceil>(a); }
Array round(const Array& a) { return unary_node<Round>(a); }
Array sign(const Array& a) { return unary_node<Sign>(a); }
Array logical_not(const Array& a) { return unary_node<LogicalNot>(astype(a, Dtype::bool_)); }

Array add(const Array& a, const Array& b) {
  // A residual add of a pending product: one node, out = product + c (see fold_addend).
  if (auto fused = fold_addend(b, a)) return *fused;
  if (auto fused = fold_addend(a, b)) return *fused;
  return arithmetic<Add>(a, b);
}
Array subtract(const Array& a, const Array& b) { return arithmetic<Subtract>(a, b); }
Array multiply(const Array& a, const Array& b) { return arithmetic<Multiply>(a, b); }
Array swiglu(const Array& a, const Array& b) {
  // The gate and up products of a decode step's MLP: one gated product (see fold_swiglu).
  if (auto fused = fold_swiglu(a, b)) return *fused;
  Dtype t = promote_types(a.dtype(), b.dtype());
  if (!is_floating(t)) t = Dtype::float32;
  return binary_node<SiluMultiply>(a, b, t, t);
}
Array divide(const Array& a, const Array& b) {
  Dtype t = promote_types(a.dtype(), b.dtype());
  if (!is_floating(t)) t = Dtype::float32;
  return binary_node<Divide>(a, b, t, t);
}
Array power(const Array& a, const Array& b) { return arithmetic<Power>(a, b); }
Array maximum(const Array& a, const Array& b) { return arithmetic<Maximum>(a, b); }
Array minimum(const Array& a, const Array& b) { return arithmetic<Minimum>(a, b); }
Array equal(const Array& a, const Array& b) { return comparison<Equal>(a, b); }
Array not_equal(const Array& a, const Array& b) { return comparison<NotEqual>(a, b); }
Array less(const Array& a, const Array& b) { return comparison<Less>(a, b); }
Array less_equal(const Array& a, const Array& b) { return comparison<LessEqual>(a, b); }
Array greater(const Array& a, const Array& b) { return comparison<Greater>(a, b); }
Array greater_equal(const Array& a, const Array& b) { return comparison<GreaterEqual>(a, b); }
Array logical_and(const Array& a, const Array& b) {
  return binary_node<LogicalAnd>(a, b, Dtype::bool_, Dtype::bool_);
}
Array logical_or(const Array& a, const Array& b) {
  return binary_node<LogicalOr>(a, b, Dtype::bool_, Dtype::bool_);
}

Array where(const Array& condition, const Array& a, const Array& b) {
  Dtype t = promote_types(a.dtype(), b.dtype());
  auto inputs = broadcast_arrays({astype(condition, Dtype::bool_), astype(a, t), astype(b, t)});
  Shape shape = inputs[0].shape();
  return Array(std::move(shape), t, std::make_shared<Select>(), std::move(inputs));
}

Array scalar_like(double value, const Array& like) {
  // |value| < 2^63 first: casting inf, NaN or 1e30 to int64 is undefined behaviour.
  bool integral_value = std::abs(value) < 0x1p63 && value == std::trunc(value);
  if (is_floating(like.dtype()) || (integral_value && like.dtype() != Dtype::bool_)) {
    return Array(value, like.dtype());
  }
  return Array(static_cast<float>(value));
}

Array operator-(const Array& a) { return negative(a); }
Array operator+(const Array& a, const Array& b) { return add(a, b); }
Array operator-(const Array& a, const Array& b) { return subtract(a, b); }
Array operator*(const Array& a, const Array& b) { return multiply(a, b); }
Array operator/(const Array& a, const Array& b) { return divide(a, b); }
Array operator+(const Array& a, double b) { return add(a, scalar_like(b, a)); }
Array operator-(const Array& a, double b) { return subtract(a, scalar_like(b, a)); }
Array operator*(const Array& a, double b) { return multiply(a, scalar_like(b, a)); }
Array operator/(const Array& a, double b) { return divide(a, scalar_like(b, a)); }
Array operator+(double a, const Array& b) { return add(scalar_like(a, b), b); }
Array operator-(double a, const Array& b) { return subtract(scalar_like(a, b), b); }
Array operator*(double a, const Array& b) { return multiply(scalar_like(a, b), b); }
Array operator/(double a, const Array& b) { return divide(scalar_like(a, b), b); }

}  // namespace lamina::core
