// Rotary position embedding kernels on float32 rows: the cos/sin table of one position and
// the rotation of one row (head_dim features, the first `dims` rotated in dims / 2 pairs).
// Leaf code: raw pointers only.
#pragma once

#include <cmath>
#include <cstdint>

namespace lamina::kernels {

// cos_out[i], sin_out[i] of the angle (float(position) * scale) * inv_freq[i], i < half.
// The angle is formed in float32 as transformers forms it; cos/sin are taken in double.
inline void rope_angles(int64_t position, float scale, const float* inv_freq, int64_t half,
                        float* cos_out, float* sin_out) {
  const float p = static_cast<float>(position) * scale;
  for (int64_t i = 0; i < half; ++i) {
    const double angle = static_cast<double>(p * inv_freq[i]);
    cos_out[i] = static_cast<float>(std::cos(angle));
    sin_out[i] = static_cast<float>(std::sin(angle));
  }
}

// y = x with pairs rotated: (a, b) -> (a cos - b sin, a sin + b cos) (sin negated when
// `inverse`). Pairs are (2i, 2i + 1) when traditional, else (i, i + dims / 2). Features
// from dims to n are copied. y must not alias x.
inline void rope_row(const float* x, const float* cos_t, const float* sin_t, float* y, int64_t n,
                     int64_t dims, bool traditional, bool inverse) {
  const int64_t half = dims / 2;
  const float sign = inverse ? -1.0f : 1.0f;
  if (traditional) {
    for (int64_t i = 0; i < half; ++i) {
      const float c = cos_t[i], s = sign * sin_t[i];
      const float a = x[2 * i], b = x[2 * i + 1];
      y[2 * i] = a * c - b * s;
      y[2 * i + 1] = a * s + b * c;
    }
  } else {
    for (int64_t i = 0; i < half; ++i) {
      const float c = cos_t[i], s = sign * sin_t[i];
      const float a = x[i], b = x[i + half];
      y[i] = a * c - b * s;
      y[i + half] = a * s + b * c;
    }
  }
  for (int64_t j = dims; j < n; ++j) y[j] = x[j];
}

}  // namespace lamina::kernels
