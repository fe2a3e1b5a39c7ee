// Per-row sorting and scanning loops: sort, stable argsort, argpartition and cumulative sums
// over one contiguous row held in the compute type. Leaf code: raw pointers only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <type_traits>

namespace lamina::kernels {

// a < b, with NaN above every number (as NumPy sorts), so that the order is a strict weak
// order even when a row holds NaNs.
template <typename C>
inline bool sort_less(C a, C b) {
  if constexpr (std::is_floating_point_v<C>) {
    return a < b || (b != b && a == a);
  } else {
    return a < b;
  }
}

// Sorts v[0, n) ascending.
template <typename C>
void sort_row(C* v, int64_t n) {
  std::sort(v, v + n, sort_less<C>);
}

// Writes to idx the positions that sort v[0, n) ascending; equal values keep their order.
template <typename C>
void argsort_row(const C* v, uint32_t* idx, int64_t n) {
  std::iota(idx, idx + n, 0u);
  std::stable_sort(idx, idx + n, [v](uint32_t a, uint32_t b) { return sort_less(v[a], v[b]); });
}

// Writes to idx a permutation of [0, n) whose kth entry is the position of the kth smallest
// value, with no larger value before it and no smaller one after it. Ties break by position,
// which makes the result a function of the row alone.
template <typename C>
void argpartition_row(const C* v, uint32_t* idx, int64_t n, int64_t kth) {
  std::iota(idx, idx + n, 0u);
  std::nth_element(idx, idx + kth, idx + n, [v](uint32_t a, uint32_t b) {
    if (sort_less(v[a], v[b])) return true;
    if (sort_less(v[b], v[a])) return false;
    return a < b;
  });
}

// Cumulative sum along a strided row: dst[k] = sum of src[j] for j before k (after k when
// reverse), including k itself when inclusive. Acc is the accumulator type.
template <typename Acc, typename In, typename Out>
void cumsum_row(const In* src, int64_t src_stride, Out* dst, int64_t dst_stride, int64_t n,
                bool reverse, bool inclusive) {
  Acc acc = Acc(0);
  for (int64_t s = 0; s < n; ++s) {
    const int64_t k = reverse ? n - 1 - s : s;
    const Acc v = static_cast<Acc>(src[k * src_stride]);
    if (inclusive) acc += v;
    dst[k * dst_stride] = Out(acc);
    if (!inclusive) acc += v;
  }
}

}  // namespace lamina::kernels
