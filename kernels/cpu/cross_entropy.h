// Cross-entropy row kernels on float32 logits rows: the loss logsumexp(x) - x[target] and
// its gradient softmax(x) - onehot(target), without materialising a log-softmax.
// Leaf code: raw pointers only.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/cpu/float_vec.h"
#include "kernels/cpu/softmax.h"

namespace lamina::kernels {

// Returns the max m of x (n > 0 entries) and sets sum_exp = sum(exp(x[i] - m)), so that
// logsumexp(x) = m + log(sum_exp); tmp (n floats, may equal x) receives exp(x[i] - m).
// An infinite m leaves sum_exp = 1 and tmp untouched.
inline float max_and_sum_exp(const float* x, int64_t n, float* tmp, float& sum_exp) {
  const float m = max_value(x, n);
  sum_exp = 1.0f;
  if (std::isinf(m)) return m;  // all -inf, or a +inf entry
  add_scalar(x, -m, tmp, n);
  exp_row(tmp, tmp, n);
  sum_exp = sum(tmp, n);
  return m;
}

// Returns logsumexp(x) - x[target], formed as (m - x[target]) + log(sum_exp) so that large
// logits do not lose the loss to float32 rounding of logsumexp itself. tmp holds n floats.
inline float cross_entropy_row(const float* x, int64_t n, int64_t target, float* tmp) {
  float sum_exp;
  const float m = max_and_sum_exp(x, n, tmp, sum_exp);
  return (m - x[target]) + std::log(sum_exp);
}

// dx[i] = g * (exp(x[i] - m) / sum_exp - (i == target)) = g * (softmax(x)[i] - onehot[i]).
// dx may alias x.
inline void cross_entropy_grad_row(const float* x, int64_t n, int64_t target, float g, float* dx) {
  float sum_exp;
  const float m = max_and_sum_exp(x, n, dx, sum_exp);
  if (std::isinf(m)) {
    for (int64_t i = 0; i < n; ++i) dx[i] = g * std::exp(x[i] - m);  // NaN where undefined
  } else {
    scale_by(g / sum_exp, dx, n);
  }
  dx[target] -= g;
}

}  // namespace lamina::kernels
