// Float32 vector helpers the fused kernels share: loading a strided row of any element type
// into float32, storing one back, and sums/dots/max/axpy over contiguous floats. The loops
// use GCC vector extensions (4 lanes: SSE2 on any x86-64, NEON on arm64) because the
// project's -O2 vectoriser leaves loops of unknown length scalar. Leaf code: raw pointers.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "kernels/cpu/half_matmul.h"
#include "libcore/array/half.h"

namespace lamina::kernels {

namespace vec {
using f32x4 = float __attribute__((vector_size(16)));
using i32x4 = int32_t __attribute__((vector_size(16)));
using u32x4 = uint32_t __attribute__((vector_size(16)));
using u16x4 = uint16_t __attribute__((vector_size(8)));

inline f32x4 load(const float* p) {
  f32x4 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline void store(float* p, f32x4 v) { std::memcpy(p, &v, sizeof(v)); }
inline f32x4 splat(float x) { return f32x4{x, x, x, x}; }
inline float hsum(f32x4 v) { return (v[0] + v[1]) + (v[2] + v[3]); }
}  // namespace vec

// dst[i] = float(src[i * stride]) for i < n.
template <typename T>
void load_float(const T* src, int64_t stride, int64_t n, float* dst) {
  if (stride == 1) {
    if constexpr (std::is_same_v<T, float>) {
      if (n > 0) std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
    } else if constexpr (std::is_same_v<T, core::bfloat16_t>) {
      // bfloat16 is the high half of a float32.
      int64_t i = 0;
      for (; i + 4 <= n; i += 4) {
        vec::u16x4 h;
        std::memcpy(&h, src + i, sizeof(h));
        vec::u32x4 w = __builtin_convertvector(h, vec::u32x4) << 16;
        std::memcpy(dst + i, &w, sizeof(w));
      }
      for (; i < n; ++i) dst[i] = static_cast<float>(src[i]);
    } else if constexpr (std::is_same_v<T, core::float16_t>) {
      // F16C where the CPU has it: the scalar bit-twiddling conversion cost more than the
      // fused kernels' arithmetic on float16 models.
      half_to_float(HalfType::float16, reinterpret_cast<const uint16_t*>(src), dst, n);
    } else {
      for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(src[i]);
    }
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(src[i * stride]);
  }
}

// dst[i] = T(src[i]) for i < n.
template <typename T>
void store_float(const float* src, int64_t n, T* dst) {
  if constexpr (std::is_same_v<T, float>) {
    if (n > 0 && dst != src) std::memmove(dst, src, static_cast<size_t>(n) * sizeof(float));
  } else if constexpr (std::is_same_v<T, core::float16_t> || std::is_same_v<T, core::bfloat16_t>) {
    // Rounds to nearest even as the scalar conversions do (vectorized where the CPU can).
    float_to_half(std::is_same_v<T, core::float16_t> ? HalfType::float16 : HalfType::bfloat16, src,
                  reinterpret_cast<uint16_t*>(dst), n);
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<T>(src[i]);
  }
}

// Returns sum(x[i]).
inline float sum(const float* x, int64_t n) {
  vec::f32x4 a = vec::splat(0.0f), b = a;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    a += vec::load(x + i);
    b += vec::load(x + i + 4);
  }
  float s = vec::hsum(a + b);
  for (; i < n; ++i) s += x[i];
  return s;
}

// Returns sum(a[i] * b[i]).
inline float dot(const float* a, const float* b, int64_t n) {
  vec::f32x4 s0 = vec::splat(0.0f), s1 = s0;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    s0 += vec::load(a + i) * vec::load(b + i);
    s1 += vec::load(a + i + 4) * vec::load(b + i + 4);
  }
  float s = vec::hsum(s0 + s1);
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

// Returns max(x[i]) (-inf for n == 0; NaN when any x[i] is NaN).
inline float max_value(const float* x, int64_t n) {
  const float neg_inf = -std::numeric_limits<float>::infinity();
  vec::f32x4 m = vec::splat(neg_inf);
  vec::i32x4 nan = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    vec::f32x4 v = vec::load(x + i);
    nan |= v != v;
    m = v > m ? v : m;
  }
  if (nan[0] | nan[1] | nan[2] | nan[3]) return std::numeric_limits<float>::quiet_NaN();
  float r = neg_inf;
  for (int k = 0; k < 4; ++k) r = m[k] > r ? m[k] : r;
  for (; i < n; ++i) {
    if (x[i] != x[i]) return x[i];
    if (x[i] > r) r = x[i];
  }
  return r;
}

// y[i] += a * x[i].
inline void axpy(float a, const float* x, float* y, int64_t n) {
  const vec::f32x4 av = vec::splat(a);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vec::store(y + i, vec::load(y + i) + av * vec::load(x + i));
  for (; i < n; ++i) y[i] += a * x[i];
}

// y[i] *= a.
inline void scale_by(float a, float* y, int64_t n) {
  const vec::f32x4 av = vec::splat(a);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vec::store(y + i, vec::load(y + i) * av);
  for (; i < n; ++i) y[i] *= a;
}

// y[i] = x[i] + a (y may equal x).
inline void add_scalar(const float* x, float a, float* y, int64_t n) {
  const vec::f32x4 av = vec::splat(a);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vec::store(y + i, vec::load(x + i) + av);
  for (; i < n; ++i) y[i] = x[i] + a;
}

}  // namespace lamina::kernels
