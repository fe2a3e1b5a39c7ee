// Elementwise kernels over strided operands: out[i] = op(a[i]) / op(a[i], b[i]) /
// select(c[i], a[i], b[i]). Half types are computed in float32. Leaf code.
#pragma once

#include <cstdint>
#include <type_traits>

#include "kernels/cpu/float_vec.h"
#include "kernels/cpu/strided_loop.h"
#include "libcore/array/half.h"

namespace lamina::kernels {

// The arithmetic type an element type is computed in.
template <typename T>
using compute_t = std::conditional_t<std::is_same_v<T, core::float16_t> ||
                                         std::is_same_v<T, core::bfloat16_t>,
                                     float, T>;

template <typename T>
inline constexpr bool is_half_v =
    std::is_same_v<T, core::float16_t> || std::is_same_v<T, core::bfloat16_t>;

// Elements per float32 block that contiguous half runs are converted through.
inline constexpr int64_t kHalfBlock = 256;

// Applies out = op(in) over runs; out is contiguous in the innermost run when its stride is 1.
template <typename In, typename Out, typename Op>
void unary_run(const In* in, int64_t in_stride, Out* out, int64_t out_stride, int64_t n, Op op) {
  if constexpr (is_half_v<In> && std::is_same_v<In, Out>) {
    // Contiguous half runs: converted in blocks with the vector conversions.
    if (in_stride == 1 && out_stride == 1) {
      float buf[kHalfBlock];
      for (int64_t i = 0; i < n; i += kHalfBlock) {
        const int64_t m = n - i < kHalfBlock ? n - i : kHalfBlock;
        load_float(in + i, 1, m, buf);
        for (int64_t j = 0; j < m; ++j) buf[j] = op(buf[j]);
        store_float(buf, m, out + i);
      }
      return;
    }
  }
  if (in_stride == 1 && out_stride == 1) {
    for (int64_t i = 0; i < n; ++i) out[i] = Out(op(static_cast<compute_t<In>>(in[i])));
  } else {
    for (int64_t i = 0; i < n; ++i) {
      out[i * out_stride] = Out(op(static_cast<compute_t<In>>(in[i * in_stride])));
    }
  }
}

template <typename In, typename Out, typename Op>
void binary_run(const In* a, int64_t sa, const In* b, int64_t sb, Out* out, int64_t so,
                int64_t n, Op op) {
  using C = compute_t<In>;
  if constexpr (is_half_v<In> && std::is_same_v<In, Out>) {
    // Contiguous half runs (a broadcast scalar operand included): converted in blocks.
    if (so == 1 && (sa == 1 || sa == 0) && (sb == 1 || sb == 0) && (sa | sb) != 0) {
      float fa[kHalfBlock], fb[kHalfBlock];
      const float a0 = sa == 0 ? static_cast<float>(a[0]) : 0.0f;
      const float b0 = sb == 0 ? static_cast<float>(b[0]) : 0.0f;
      for (int64_t i = 0; i < n; i += kHalfBlock) {
        const int64_t m = n - i < kHalfBlock ? n - i : kHalfBlock;
        if (sa == 1) load_float(a + i, 1, m, fa);
        if (sb == 1) load_float(b + i, 1, m, fb);
        if (sa == 0) {
          for (int64_t j = 0; j < m; ++j) fa[j] = op(a0, fb[j]);
        } else if (sb == 0) {
          for (int64_t j = 0; j < m; ++j) fa[j] = op(fa[j], b0);
        } else {
          for (int64_t j = 0; j < m; ++j) fa[j] = op(fa[j], fb[j]);
        }
        store_float(fa, m, out + i);
      }
      return;
    }
  }
  if (sa == 1 && sb == 1 && so == 1) {
    for (int64_t i = 0; i < n; ++i) out[i] = Out(op(static_cast<C>(a[i]), static_cast<C>(b[i])));
  } else if (sa == 1 && sb == 0 && so == 1) {
    const C bv = static_cast<C>(b[0]);
    for (int64_t i = 0; i < n; ++i) out[i] = Out(op(static_cast<C>(a[i]), bv));
  } else if (sa == 0 && sb == 1 && so == 1) {
    const C av = static_cast<C>(a[0]);
    for (int64_t i = 0; i < n; ++i) out[i] = Out(op(av, static_cast<C>(b[i])));
  } else {
    for (int64_t i = 0; i < n; ++i) {
      out[i * so] = Out(op(static_cast<C>(a[i * sa]), static_cast<C>(b[i * sb])));
    }
  }
}

}  // namespace lamina::kernels
