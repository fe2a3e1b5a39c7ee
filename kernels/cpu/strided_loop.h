// Iteration over N-d strided operands: adjacent dims that are contiguous in every operand
// are merged, then the innermost run is handed to a flat loop. Leaf code: raw pointers only.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace lamina::kernels {

// Shape and strides (in elements) of N operands after merging mergeable dims.
template <int N>
struct CollapsedLoop {
  std::vector<int64_t> shape;
  std::array<std::vector<int64_t>, N> strides;
};

template <int N>
CollapsedLoop<N> collapse_dims(const std::vector<int64_t>& shape,
                               const std::array<const std::vector<int64_t>*, N>& strides) {
  CollapsedLoop<N> out;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool merge = !out.shape.empty();
    if (merge) {
      for (int k = 0; k < N; ++k) {
        if (out.strides[k].back() != (*strides[k])[d] * shape[d]) merge = false;
      }
    }
    if (merge) {
      out.shape.back() *= shape[d];
      for (int k = 0; k < N; ++k) out.strides[k].back() = (*strides[k])[d];
    } else {
      out.shape.push_back(shape[d]);
      for (int k = 0; k < N; ++k) out.strides[k].push_back((*strides[k])[d]);
    }
  }
  if (out.shape.empty()) {
    out.shape.push_back(1);
    for (int k = 0; k < N; ++k) out.strides[k].push_back(0);
  }
  return out;
}

// Calls inner(offsets, count, inner_strides) for every innermost run of the elements
// [begin, end) (row-major order over `loop.shape`). offsets are element offsets per operand.
template <int N, typename Inner>
void for_each_run(const CollapsedLoop<N>& loop, int64_t begin, int64_t end, Inner&& inner) {
  const int nd = static_cast<int>(loop.shape.size());
  const int64_t inner_n = loop.shape[nd - 1];
  std::array<int64_t, N> inner_strides;
  for (int k = 0; k < N; ++k) inner_strides[k] = loop.strides[k][nd - 1];
  // Decompose `begin` into an index.
  std::vector<int64_t> index(nd, 0);
  int64_t rem = begin;
  for (int d = nd - 1; d >= 0; --d) {
    index[d] = rem % loop.shape[d];
    rem /= loop.shape[d];
  }
  std::array<int64_t, N> offsets{};
  for (int k = 0; k < N; ++k) {
    for (int d = 0; d < nd; ++d) offsets[k] += index[d] * loop.strides[k][d];
  }
  int64_t pos = begin;
  while (pos < end) {
    int64_t count = std::min(inner_n - index[nd - 1], end - pos);
    inner(offsets, count, inner_strides);
    pos += count;
    // Advance the index by `count` along the innermost dim, carrying outward.
    index[nd - 1] += count;
    for (int k = 0; k < N; ++k) offsets[k] += count * inner_strides[k];
    for (int d = nd - 1; d > 0 && index[d] == loop.shape[d]; --d) {
      index[d] = 0;
      index[d - 1] += 1;
      for (int k = 0; k < N; ++k) {
        offsets[k] += loop.strides[k][d - 1] - loop.shape[d] * loop.strides[k][d];
      }
    }
  }
}

}  // namespace lamina::kernels
