// Gather and scatter loops over row-major operands viewed as [outer, axis, inner], with
// indices already checked and made non-negative. Leaf code: raw pointers only.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace lamina::kernels {

// take: output row (o, j) of `row_bytes` bytes is input row (o, idx[j]), for the output rows
// [begin, end) of the [outer, m] grid. The input has n rows per outer step.
inline void gather_rows(const char* src, char* dst, const int64_t* idx, int64_t n, int64_t m,
                        size_t row_bytes, int64_t begin, int64_t end) {
  for (int64_t r = begin; r < end; ++r) {
    const int64_t o = r / m, j = r % m;
    std::memcpy(dst + static_cast<size_t>(r) * row_bytes,
                src + static_cast<size_t>(o * n + idx[j]) * row_bytes, row_bytes);
  }
}

// take_along_axis: dst[o, j, i] = src[o, idx[o, j, i], i] for the flat output elements
// [begin, end) of [outer, m, inner]. T only carries the element's bytes.
template <typename T>
void gather_along_axis(const T* src, T* dst, const int64_t* idx, int64_t n, int64_t m,
                       int64_t inner, int64_t begin, int64_t end) {
  for (int64_t t = begin; t < end; ++t) {
    const int64_t i = t % inner, o = t / (m * inner);
    dst[t] = src[(o * n + idx[t]) * inner + i];
  }
}

// scatter: dst row (o, idx[j]) = (or +=) upd row (o, j), for the columns [begin, end) of the
// [outer, inner] grid. Each column walks j in order, so the last duplicate wins (assign) and
// sums always add in the same order, whatever the split into chunks.
template <typename T, typename Combine>
void scatter_rows(T* dst, const T* upd, const int64_t* idx, int64_t n, int64_t m, int64_t inner,
                  int64_t begin, int64_t end, Combine combine) {
  int64_t c = begin;
  while (c < end) {
    const int64_t o = c / inner, i0 = c % inner;
    const int64_t i1 = std::min(inner, i0 + (end - c));
    for (int64_t j = 0; j < m; ++j) {
      T* d = dst + (o * n + idx[j]) * inner;
      const T* u = upd + (o * m + j) * inner;
      for (int64_t i = i0; i < i1; ++i) d[i] = combine(d[i], u[i]);
    }
    c += i1 - i0;
  }
}

// put_along_axis: dst[o, idx[o, j, i], i] = (or +=) upd[o, j, i] for the columns [begin, end)
// of the [outer, inner] grid, j in order (same determinism as scatter_rows).
template <typename T, typename Combine>
void scatter_along_axis(T* dst, const T* upd, const int64_t* idx, int64_t n, int64_t m,
                        int64_t inner, int64_t begin, int64_t end, Combine combine) {
  for (int64_t c = begin; c < end; ++c) {
    const int64_t o = c / inner, i = c % inner;
    for (int64_t j = 0; j < m; ++j) {
      const int64_t t = (o * m + j) * inner + i;
      T& d = dst[(o * n + idx[t]) * inner + i];
      d = combine(d, upd[t]);
    }
  }
}

}  // namespace lamina::kernels
