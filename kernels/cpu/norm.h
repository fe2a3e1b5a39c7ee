// Row kernels of RMS norm and layer norm and of their input gradients, on float32 rows of
// length n. weight/bias may be null (meaning 1 and 0). Leaf code: raw pointers only.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/cpu/float_vec.h"

namespace lamina::kernels {

// Returns 1 / sqrt(mean(x^2) + eps).
inline float rms_inv(const float* x, int64_t n, float eps) {
  return 1.0f / std::sqrt(dot(x, x, n) / static_cast<float>(n) + eps);
}

// y[i] = (x[i] + shift) * scale * (weight ? weight[i] : 1) + (bias ? bias[i] : 0).
// y may alias x.
inline void affine_row(const float* x, float shift, float scale, const float* weight,
                       const float* bias, float* y, int64_t n) {
  const vec::f32x4 sv = vec::splat(shift), cv = vec::splat(scale);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    vec::f32x4 v = (vec::load(x + i) + sv) * cv;
    if (weight) v *= vec::load(weight + i);
    if (bias) v += vec::load(bias + i);
    vec::store(y + i, v);
  }
  for (; i < n; ++i) {
    float v = (x[i] + shift) * scale;
    if (weight) v *= weight[i];
    if (bias) v += bias[i];
    y[i] = v;
  }
}

// y = x * rms_inv(x) * weight. y may alias x.
inline void rms_norm_row(const float* x, const float* weight, float* y, int64_t n, float eps) {
  affine_row(x, 0.0f, rms_inv(x, n, eps), weight, nullptr, y, n);
}

// dx for y = rms_norm(x) * weight and the cotangent g: with r = rms_inv(x) and gw = g * w,
// dx = r * gw - x * r^3 * dot(gw, x) / n. g is overwritten with gw; dx may alias x.
inline void rms_norm_grad_row(const float* x, const float* weight, float* g, float* dx, int64_t n,
                              float eps) {
  const float r = rms_inv(x, n, eps);
  if (weight) affine_row(g, 0.0f, 1.0f, weight, nullptr, g, n);
  const float c = dot(g, x, n) * r * r * r / static_cast<float>(n);
  for (int64_t i = 0; i < n; ++i) dx[i] = r * g[i] - c * x[i];
}

// Mean and 1 / sqrt(population variance + eps) of x (two passes).
inline void mean_and_inv_std(const float* x, int64_t n, float eps, float& mean, float& inv_std) {
  mean = sum(x, n) / static_cast<float>(n);
  const vec::f32x4 mv = vec::splat(mean);
  vec::f32x4 acc = vec::splat(0.0f);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    vec::f32x4 d = vec::load(x + i) - mv;
    acc += d * d;
  }
  float ss = vec::hsum(acc);
  for (; i < n; ++i) ss += (x[i] - mean) * (x[i] - mean);
  inv_std = 1.0f / std::sqrt(ss / static_cast<float>(n) + eps);
}

// y = (x - mean) * inv_std * weight + bias. y may alias x.
inline void layer_norm_row(const float* x, const float* weight, const float* bias, float* y,
                           int64_t n, float eps) {
  float mean, r;
  mean_and_inv_std(x, n, eps, mean, r);
  affine_row(x, -mean, r, weight, bias, y, n);
}

// dx for y = layer_norm(x) * weight + bias and the cotangent g: with xhat the normalised
// row and gw = g * w, dx = r * (gw - mean(gw) - xhat * mean(gw * xhat)). g is overwritten
// with gw; dx may alias x.
inline void layer_norm_grad_row(const float* x, const float* weight, float* g, float* dx, int64_t n,
                                float eps) {
  float mean, r;
  mean_and_inv_std(x, n, eps, mean, r);
  if (weight) affine_row(g, 0.0f, 1.0f, weight, nullptr, g, n);
  const float inv_n = 1.0f / static_cast<float>(n);
  const float m1 = sum(g, n) * inv_n;
  // mean(gw * xhat) = r * (dot(gw, x) - mean * sum(gw)) / n
  const float m2 = r * (dot(g, x, n) - mean * sum(g, n)) * inv_n;
  for (int64_t j = 0; j < n; ++j) {
    const float xhat = (x[j] - mean) * r;
    dx[j] = r * (g[j] - m1 - xhat * m2);
  }
}

}  // namespace lamina::kernels
