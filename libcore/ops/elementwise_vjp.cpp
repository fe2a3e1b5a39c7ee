// vjps of the elementwise primitives, written with the ops themselves.
#include <cmath>

#include "libcore/ops/creation.h"
#include "libcore/ops/elementwise.h"
#include "libcore/ops/elementwise_primitives.h"
#include "libcore/ops/views.h"

namespace lamina::core {

namespace {
// One cotangent per requested argnum, picked from the per-input list.
std::vector<Array> pick(const std::vector<int>& argnums, const std::vector<Array>& all) {
  std::vector<Array> out;
  for (int k : argnums) out.push_back(all[k]);
  return out;
}
}  // namespace

#define LAMINA_UNARY_VJP(NAME, EXPR)                                                  \
  std::vector<Array> NAME::vjp(const std::vector<Array>& inputs, const Array& g,       \
                               const std::vector<int>&, const Array& out) {            \
    const Array& x = inputs[0];                                                       \
    (void)x;                                                                          \
    (void)out;                                                                        \
    return {EXPR};                                                                    \
  }

LAMINA_UNARY_VJP(Negative, negative(g))
LAMINA_UNARY_VJP(Abs, g * sign(x))
LAMINA_UNARY_VJP(Exp, g * out)
LAMINA_UNARY_VJP(Log, g / x)
LAMINA_UNARY_VJP(Log1p, g / (x + 1.0))
LAMINA_UNARY_VJP(Sqrt, g * 0.5 / out)
LAMINA_UNARY_VJP(Rsqrt, g * -0.5 * out / x)
LAMINA_UNARY_VJP(Square, g * 2.0 * x)
LAMINA_UNARY_VJP(Sin, g * cos(x))
LAMINA_UNARY_VJP(Cos, negative(g * sin(x)))
LAMINA_UNARY_VJP(Tanh, g * (1.0 - square(out)))
LAMINA_UNARY_VJP(Sigmoid, g * out * (1.0 - out))
LAMINA_UNARY_VJP(Erf, g * (2.0 / std::sqrt(M_PI)) * exp(negative(square(x))))
LAMINA_UNARY_VJP(Floor, zeros_like(x))
LAMINA_UNARY_VJP(Ceil, zeros_like(x))
LAMINA_UNARY_VJP(Round, zeros_like(x))
LAMINA_UNARY_VJP(Sign, zeros_like(x))
LAMINA_UNARY_VJP(LogicalNot, zeros_like(x))

std::vector<Array> Silu::vjp(const std::vector<Array>& inputs, const Array& g,
                             const std::vector<int>&, const Array&) {
  const Array& x = inputs[0];
  Array s = sigmoid(x);
  return {g * s * (1.0 + x * (1.0 - s))};
}

std::vector<Array> Gelu::vjp(const std::vector<Array>& inputs, const Array& g,
                             const std::vector<int>&, const Array&) {
  const Array& x = inputs[0];
  Array cdf = 0.5 * (1.0 + erf(x * M_SQRT1_2));
  Array pdf = exp(square(x) * -0.5) * (1.0 / std::sqrt(2.0 * M_PI));
  return {g * (cdf + x * pdf)};
}

std::vector<Array> GeluTanh::vjp(const std::vector<Array>& inputs, const Array& g,
                                 const std::vector<int>&, const Array&) {
  const Array& x = inputs[0];
  const double k = std::sqrt(2.0 / M_PI);
  Array t = tanh((x + square(x) * x * 0.044715) * k);
  Array dinner = (1.0 + square(x) * (3.0 * 0.044715)) * k;
  return {g * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - square(t)) * dinner)};
}

#define LAMINA_BINARY_VJP(NAME, GA, GB)                                               \
  std::vector<Array> NAME::vjp(const std::vector<Array>& inputs, const Array& g,       \
                               const std::vector<int>& argnums, const Array& out) {    \
    const Array& a = inputs[0];                                                       \
    const Array& b = inputs[1];                                                       \
    (void)a;                                                                          \
    (void)b;                                                                          \
    (void)out;                                                                        \
    std::vector<Array> all(2);                                                        \
    for (int k : argnums) all[k] = k == 0 ? Array(GA) : Array(GB);                    \
    return pick(argnums, all);                                                        \
  }

LAMINA_BINARY_VJP(Add, g, g)
LAMINA_BINARY_VJP(Subtract, g, negative(g))
LAMINA_BINARY_VJP(Multiply, g * b, g * a)
LAMINA_BINARY_VJP(Divide, g / b, negative(g * out / b))
LAMINA_BINARY_VJP(Power, g * b * power(a, b - 1.0), g * out * log(a))
LAMINA_BINARY_VJP(Maximum, where(greater_equal(a, b), g, zeros_like(g)),
                  where(greater_equal(a, b), zeros_like(g), g))
LAMINA_BINARY_VJP(Minimum, where(less_equal(a, b), g, zeros_like(g)),
                  where(less_equal(a, b), zeros_like(g), g))
LAMINA_BINARY_VJP(Equal, zeros_like(a), zeros_like(b))
LAMINA_BINARY_VJP(NotEqual, zeros_like(a), zeros_like(b))
LAMINA_BINARY_VJP(Less, zeros_like(a), zeros_like(b))
LAMINA_BINARY_VJP(LessEqual, zeros_like(a), zeros_like(b))
LAMINA_BINARY_VJP(Greater, zeros_like(a), zeros_like(b))
LAMINA_BINARY_VJP(GreaterEqual, zeros_like(a), zeros_like(b))
LAMINA_BINARY_VJP(LogicalAnd, zeros_like(a), zeros_like(b))
LAMINA_BINARY_VJP(LogicalOr, zeros_like(a), zeros_like(b))

std::vector<Array> SiluMultiply::vjp(const std::vector<Array>& inputs, const Array& g,
                                     const std::vector<int>& argnums, const Array&) {
  const Array& a = inputs[0];
  const Array& b = inputs[1];
  std::vector<Array> all(2);
  for (int k : argnums) {
    if (k == 1) {
      all[1] = g * silu(a);
    } else {
      Array s = sigmoid(a);
      all[0] = g * b * s * (1.0 + a * (1.0 - s));
    }
  }
  return pick(argnums, all);
}

std::vector<Array> Select::vjp(const std::vector<Array>& inputs, const Array& g,
                               const std::vector<int>& argnums, const Array&) {
  const Array& c = inputs[0];
  std::vector<Array> all(3);
  all[0] = zeros_like(c);
  all[1] = where(c, g, zeros_like(g));
  all[2] = where(c, zeros_like(g), g);
  return pick(argnums, all);
}

}  // namespace lamina::core
