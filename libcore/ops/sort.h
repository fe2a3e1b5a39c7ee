// Sorting and scans along one axis: sort, argsort, argpartition, topk, cumsum.
// Floating-point NaNs order above every number (they sort last, as in NumPy).
#pragma once

#include "libcore/array/array.h"

namespace lamina::core {

// Returns a sorted ascending along axis.
Array sort(const Array& a, int axis = -1);
// Returns the uint32 indices that sort a ascending along axis; equal values keep their
// order (stable), so take_along_axis(a, argsort(a, axis), axis) == sort(a, axis).
Array argsort(const Array& a, int axis = -1);
// Returns uint32 indices along axis that put the kth smallest element at position kth, with
// no larger element before it and no smaller one after it (each side in no set order).
// kth may be negative (counted from the end).
Array argpartition(const Array& a, int kth, int axis = -1);
// Returns the k largest elements along axis, sorted descending (0 <= k <= size of axis).
Array topk(const Array& a, int k, int axis = -1);
// Returns the running sums along axis: out[i] = a[0] + ... + a[i] (inclusive), or up to
// a[i-1] (exclusive); with reverse, sums run from the end instead. Bool and small integer
// inputs sum in int32/uint32, as sum() does.
Array cumsum(const Array& a, int axis, bool reverse = false, bool inclusive = true);

}  // namespace lamina::core
