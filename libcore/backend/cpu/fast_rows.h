// Row access for the fused CPU kernels: the rows (all axes but the last) of a strided array
// of any dtype are loaded into float32 scratch and results stored back into a row-major
// output, so the leaf kernels only ever see contiguous float32 rows.
#pragma once

#include <algorithm>
#include <type_traits>
#include <vector>

#include "kernels/cpu/float_vec.h"
#include "libcore/array/array.h"
#include "libcore/backend/cpu/cpu_util.h"
#include "libcore/backend/cpu/thread_pool.h"

namespace lamina::core::cpu {

// Element offsets of the rows of an array (row r in row-major order over all axes but the
// last), and the stride along the last axis.
class RowLayout {
 public:
  explicit RowLayout(const Array& a)
      : outer_shape_(a.shape().begin(), a.shape().end() - (a.ndim() > 0 ? 1 : 0)),
        outer_strides_(a.strides().begin(), a.strides().end() - (a.ndim() > 0 ? 1 : 0)),
        length_(a.ndim() > 0 ? a.shape().back() : 1),
        stride_(a.ndim() > 0 ? a.strides().back() : 1) {}
  int64_t offset(int64_t row) const {
    int64_t off = 0;
    for (int d = static_cast<int>(outer_shape_.size()) - 1; d >= 0; --d) {
      off += (row % outer_shape_[d]) * outer_strides_[d];
      row /= outer_shape_[d];
    }
    return off;
  }
  int64_t length() const { return length_; }
  int64_t stride() const { return stride_; }

 private:
  Shape outer_shape_;
  Strides outer_strides_;
  int64_t length_, stride_;
};

// dst = row `row` of a (a.data() + layout.offset(row), layout.length() elements) as float32.
inline void load_row(const Array& a, const RowLayout& layout, int64_t row, float* dst) {
  dispatch_dtype(a.dtype(), [&](auto t) {
    using T = decltype(t);
    kernels::load_float(a.data<T>() + layout.offset(row), layout.stride(), layout.length(), dst);
  });
}

// Row `row` of the row-major `out` (n elements) = src converted to out's dtype.
inline void store_row(const float* src, const Array& out, int64_t row, int64_t n) {
  dispatch_dtype(out.dtype(), [&](auto t) {
    using T = decltype(t);
    kernels::store_float(src, n, out.data<T>() + row * n);
  });
}

// v (n values) rounded to the precision of dtype (float16, bfloat16; float32 as is): what
// storing them in an array of that dtype and loading them back gives.
inline void round_to_dtype(Dtype dtype, float* v, int64_t n) {
  dispatch_dtype(dtype, [&](auto t) {
    using T = decltype(t);
    if constexpr (std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>) {
      for (int64_t i = 0; i < n; ++i) v[i] = static_cast<float>(static_cast<T>(v[i]));
    }
  });
}

// Returns the elements of a (any shape, evaluated) in row-major order as float32.
inline std::vector<float> load_all(const Array& a) {
  std::vector<float> v(static_cast<size_t>(a.size()));
  if (a.size() == 0) return v;
  if (a.ndim() == 0) {
    load_row(a, RowLayout(a), 0, v.data());
    return v;
  }
  RowLayout layout(a);
  int64_t rows = a.size() / layout.length();
  for (int64_t r = 0; r < rows; ++r) load_row(a, layout, r, v.data() + r * layout.length());
  return v;
}

// y[i] += element i of c in row-major order (c evaluated, y holding c.size() values): a
// product's addend (Matmul, QuantizedMatmul) added to its float32 results.
inline void add_all(const Array& c, float* y) {
  const std::vector<float> cf = load_all(c);
  for (size_t i = 0; i < cf.size(); ++i) y[i] += cf[i];
}

// Gives out a row-major buffer: the first of inputs[i] (i in `candidates`) that may be
// donated (see can_donate), else a fresh one. The inputs are not copied, so that their
// use counts stay as the scheduler left them.
inline void prepare_output_from(Array& out, const std::vector<Array>& inputs,
                                const std::vector<int>& candidates) {
  for (int i : candidates) {
    if (can_donate(inputs[i], out)) {
      out.set_data(inputs[i].buffer(), inputs[i].offset(), row_major_strides(out.shape()));
      return;
    }
  }
  out.allocate();
}

// For every row r of out (all of out's axes but the last; n = out.shape().back()): loads
// row r of each inputs[i], i in `row_inputs` (all of out's shape), into float32 scratch
// (the k-th at base + k * n), calls fn(base, out_row, n, r) and stores out_row into out.
// out gets a row-major buffer, possibly donated by a row input (safe: row r is read
// before it is written).
template <typename Fn>
void map_rows(const std::vector<Array>& inputs, const std::vector<int>& row_inputs, Array& out,
              Fn&& fn) {
  prepare_output_from(out, inputs, row_inputs);
  if (out.size() == 0) return;
  const int64_t n = out.shape().back();
  const int64_t rows = out.size() / n;
  std::vector<RowLayout> layouts;
  for (int i : row_inputs) layouts.emplace_back(inputs[i]);
  const int64_t k = static_cast<int64_t>(row_inputs.size());
  constexpr int64_t kGrainElements = 1 << 14;
  parallel_for(rows, std::max<int64_t>(1, kGrainElements / n), [&](int64_t begin, int64_t end) {
    std::vector<float> scratch(static_cast<size_t>((k + 1) * n));
    float* out_row = scratch.data() + k * n;
    for (int64_t r = begin; r < end; ++r) {
      for (int64_t i = 0; i < k; ++i) {
        load_row(inputs[row_inputs[i]], layouts[i], r, scratch.data() + i * n);
      }
      fn(scratch.data(), out_row, n, r);
      store_row(out_row, out, r, n);
    }
  });
}

}  // namespace lamina::core::cpu
