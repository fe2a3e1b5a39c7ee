// CPU evaluation of the row primitives (Sort, ArgSort, ArgPartition, CumSum). A "lane" is one
// row along the axis; lanes run in parallel, each copied into a contiguous scratch row in
// the compute type, handled by kernels/cpu/sort.h, and written to the row-major output.
#include <algorithm>
#include <type_traits>
#include <vector>

#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/sort.h"
#include "libcore/backend/cpu/thread_pool.h"
#include "libcore/ops/sort_primitives.h"

namespace lamina::core {

namespace {

// Where each lane starts in the input (any strides) and in the row-major output.
struct Lanes {
  int64_t count = 0;        // number of lanes
  int64_t n = 0;            // lane length (size of the axis)
  int64_t in_stride = 0;    // input stride along the axis
  int64_t out_stride = 0;   // output stride along the axis (the inner size)
  Shape other_shape;        // input dims other than the axis
  Strides other_strides;

  Lanes(const Array& in, int axis) {
    n = in.shape()[axis];
    in_stride = in.strides()[axis];
    out_stride = 1;
    for (int d = axis + 1; d < in.ndim(); ++d) out_stride *= in.shape()[d];
    for (int d = 0; d < in.ndim(); ++d) {
      if (d == axis) continue;
      other_shape.push_back(in.shape()[d]);
      other_strides.push_back(in.strides()[d]);
    }
    count = shape_size(other_shape);
  }
  // Element offset of lane r in the input.
  int64_t in_offset(int64_t r) const {
    int64_t off = 0;
    for (int d = static_cast<int>(other_shape.size()) - 1; d >= 0; --d) {
      off += (r % other_shape[d]) * other_strides[d];
      r /= other_shape[d];
    }
    return off;
  }
  // Element offset of lane r in the row-major output: lane r = (outer o, inner i).
  int64_t out_offset(int64_t r) const { return (r / out_stride) * n * out_stride + r % out_stride; }
  // Lanes per parallel chunk: about 16K elements.
  int64_t grain() const { return std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(n, 1)); }
};

// The type a lane is sorted in: the compute type, with bool as uint8 (std::vector<bool> has
// no contiguous storage).
template <typename T>
using row_t = std::conditional_t<std::is_same_v<T, bool>, uint8_t, kernels::compute_t<T>>;

// Runs fn(row, scratch, out_offset) for every lane: row holds the lane's values in the
// compute type, contiguous; scratch is room for lane-length uint32 indices.
template <typename T, typename Fn>
void for_each_lane(const Array& in, const Lanes& lanes, Fn&& fn) {
  using C = row_t<T>;
  const T* src = in.data<T>();
  cpu::parallel_for(lanes.count, lanes.grain(), [&](int64_t b, int64_t e) {
    std::vector<C> row(static_cast<size_t>(lanes.n));
    std::vector<uint32_t> scratch(static_cast<size_t>(lanes.n));
    for (int64_t r = b; r < e; ++r) {
      const T* p = src + lanes.in_offset(r);
      for (int64_t k = 0; k < lanes.n; ++k) row[k] = static_cast<C>(p[k * lanes.in_stride]);
      fn(row.data(), scratch.data(), lanes.out_offset(r));
    }
  });
}

// Index kernels (argsort, argpartition): row_fn(row, idx, n) fills idx for one lane.
template <typename RowFn>
void index_lanes(const Array& in, Array& out, int axis, RowFn row_fn) {
  out.allocate();
  Lanes lanes(in, axis);
  if (out.size() == 0) return;
  uint32_t* dst = out.data<uint32_t>();
  dispatch_dtype(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    for_each_lane<T>(in, lanes, [&](const auto* row, uint32_t* idx, int64_t out_off) {
      row_fn(row, idx, lanes.n);
      for (int64_t k = 0; k < lanes.n; ++k) dst[out_off + k * lanes.out_stride] = idx[k];
    });
  });
}

// The dtype cumsum returns for T (the builder's rule: small integers and bool widen).
template <typename T>
using cumsum_out_t = std::conditional_t<
    std::is_same_v<T, bool> || std::is_same_v<T, int8_t> || std::is_same_v<T, int16_t>, int32_t,
    std::conditional_t<std::is_same_v<T, uint8_t> || std::is_same_v<T, uint16_t>, uint32_t, T>>;

}  // namespace

void Sort::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  const Array& in = inputs[0];
  out.allocate();
  Lanes lanes(in, axis_);
  if (out.size() == 0) return;
  dispatch_dtype(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using C = row_t<T>;
    T* dst = out.data<T>();
    for_each_lane<T>(in, lanes, [&](C* row, uint32_t*, int64_t out_off) {
      kernels::sort_row(row, lanes.n);
      for (int64_t k = 0; k < lanes.n; ++k) dst[out_off + k * lanes.out_stride] = T(row[k]);
    });
  });
}

void ArgSort::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  index_lanes(inputs[0], out, axis_, [](const auto* row, uint32_t* idx, int64_t n) {
    kernels::argsort_row(row, idx, n);
  });
}

void ArgPartition::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  const int64_t kth = kth_;
  index_lanes(inputs[0], out, axis_, [kth](const auto* row, uint32_t* idx, int64_t n) {
    kernels::argpartition_row(row, idx, n, kth);
  });
}

void CumSum::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  const Array& in = inputs[0];
  out.allocate();
  Lanes lanes(in, axis_);
  if (out.size() == 0) return;
  dispatch_dtype(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using O = cumsum_out_t<T>;
    if (out.dtype() != dtype_of<O>::value) throw Error("cumsum: unexpected output dtype");
    // Floats accumulate in double: top-p sums ~1e5 probabilities and must reach 1 closely.
    using Acc = std::conditional_t<std::is_floating_point_v<kernels::compute_t<T>>, double, O>;
    const T* src = in.data<T>();
    O* dst = out.data<O>();
    cpu::parallel_for(lanes.count, lanes.grain(), [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        kernels::cumsum_row<Acc>(src + lanes.in_offset(r), lanes.in_stride,
                                 dst + lanes.out_offset(r), lanes.out_stride, lanes.n, reverse_,
                                 inclusive_);
      }
    });
  });
}

}  // namespace lamina::core
