// Elementwise kernels over strided operands: out[i] = op(a[i]) / op(a[i], b[i]) /
// select(c[i], a[i], b[i]). Half types are computed in float32. Leaf code.
#pragma once

#include <cstdint>
#include <type_traits>

#include "kernels/cpu/strided_loop.h"
#include "libcore/array/half.h"

namespace lamina::kernels {

// The arithmetic type an element type is computed in.
template <typename T>
using compute_t = std::conditional_t<std::is_same_v<T, core::float16_t> ||
                                         std::is_same_v<T, core::bfloat16_t>,
                                     float, T>;

// Applies out = op(in) over runs; out is contiguous in the innermost run when its stride is 1.
template <typename In, typename Out, typename Op>
void unary_run(const In* in, int64_t in_stride, Out* out, int64_t out_stride, int64_t n, Op op) {
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
