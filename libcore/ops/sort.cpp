// Sort and scan op builders, and their vjps.
#include "libcore/ops/sort.h"

#include <memory>
#include <string>

#include "libcore/ops/creation.h"
#include "libcore/ops/indexing.h"
#include "libcore/ops/sort_primitives.h"
#include "libcore/ops/views.h"

namespace lamina::core {

namespace {

int row_axis(const Array& a, int axis, const char* op) {
  if (a.ndim() == 0) throw Error(std::string(op) + ": needs at least 1 dimension, got a scalar");
  return normalize_axis(axis, a.ndim());
}

}  // namespace

Array sort(const Array& a, int axis) {
  const int ax = row_axis(a, axis, "sort");
  return Array(a.shape(), a.dtype(), std::make_shared<Sort>(ax), {a});
}

Array argsort(const Array& a, int axis) {
  const int ax = row_axis(a, axis, "argsort");
  return Array(a.shape(), Dtype::uint32, std::make_shared<ArgSort>(ax), {a});
}

Array argpartition(const Array& a, int kth, int axis) {
  const int ax = row_axis(a, axis, "argpartition");
  const int64_t n = a.shape()[ax];
  const int64_t k = kth < 0 ? kth + n : kth;
  if (k < 0 || k >= n) {
    throw Error("argpartition: kth " + std::to_string(kth) + " is out of range for an axis of size " +
                std::to_string(n));
  }
  return Array(a.shape(), Dtype::uint32, std::make_shared<ArgPartition>(k, ax), {a});
}

Array topk(const Array& a, int k, int axis) {
  const int ax = row_axis(a, axis, "topk");
  const int64_t n = a.shape()[ax];
  if (k < 0 || k > n) {
    throw Error("topk: k = " + std::to_string(k) + " for an axis of size " + std::to_string(n));
  }
  if (k == 0) return slice_axis(a, ax, 0, 0);
  // Partition so that the k largest sit at the end, sort only those, then reverse them.
  Array top = a;
  if (k < n) {
    Array largest = slice_axis(argpartition(a, static_cast<int>(n - k), ax), ax, n - k, n);
    top = take_along_axis(a, largest, ax);
  }
  // int32 positions (k is an int): Vulkan's Arange and Gather kernels take them, not int64.
  Array reversed = arange(static_cast<double>(k - 1), -1.0, -1.0, Dtype::int32);
  return take(sort(top, ax), reversed, ax);
}

Array cumsum(const Array& a, int axis, bool reverse, bool inclusive) {
  const int ax = row_axis(a, axis, "cumsum");
  Dtype dtype = a.dtype();
  if (dtype == Dtype::bool_ || dtype == Dtype::int8 || dtype == Dtype::int16) dtype = Dtype::int32;
  if (dtype == Dtype::uint8 || dtype == Dtype::uint16) dtype = Dtype::uint32;
  return Array(a.shape(), dtype, std::make_shared<CumSum>(ax, reverse, inclusive), {a});
}

// ---- vjps ----

std::vector<Array> Sort::vjp(const std::vector<Array>& inputs, const Array& g,
                             const std::vector<int>&, const Array&) {
  // Each sorted slot's cotangent goes back to the position it was taken from.
  const Array& a = inputs[0];
  return {put_along_axis(zeros_like(a), argsort(a, axis_), g, axis_)};
}

std::vector<Array> ArgSort::vjp(const std::vector<Array>& inputs, const Array&,
                                const std::vector<int>&, const Array&) {
  return {zeros_like(inputs[0])};
}

std::vector<Array> ArgPartition::vjp(const std::vector<Array>& inputs, const Array&,
                                     const std::vector<int>&, const Array&) {
  return {zeros_like(inputs[0])};
}

std::vector<Array> CumSum::vjp(const std::vector<Array>&, const Array& g, const std::vector<int>&,
                               const Array&) {
  // a[i] reaches every output on its far side, so its cotangent sums those the other way.
  return {cumsum(g, axis_, !reverse_, inclusive_)};
}

}  // namespace lamina::core
