// View and dtype ops: reshape, transpose, slice, broadcast_to, expand_dims, squeeze,
// flatten, astype, contiguous, stop_gradient. Views share the input's buffer.
#pragma once

#include <vector>

#include "libcore/array/array.h"

namespace lamina::core {

// Returns a with a new shape of the same size; one entry may be -1 (inferred). A view when
// the strides allow it, else a copy.
Array reshape(const Array& a, Shape shape);
// Returns a with its axes permuted (reversed when axes is empty).
Array transpose(const Array& a, std::vector<int> axes = {});
Array swapaxes(const Array& a, int axis1, int axis2);
Array moveaxis(const Array& a, int source, int destination);
// Returns a[start:stop:step] along every axis (stop clamped to the size; step > 0).
// Negative start/stop count from the end, as in NumPy.
Array slice(const Array& a, Shape start, Shape stop, Shape step = {});
// Returns a[..., start:stop, ...] along one axis.
Array slice_axis(const Array& a, int axis, int64_t start, int64_t stop, int64_t step = 1);
// Returns a broadcast to `shape` (a stride-0 view).
Array broadcast_to(const Array& a, const Shape& shape);
// Returns arrays broadcast to their common shape.
std::vector<Array> broadcast_arrays(const std::vector<Array>& arrays);
Array expand_dims(const Array& a, int axis);
Array expand_dims(const Array& a, std::vector<int> axes);
// Removes the given size-1 axes (all size-1 axes when empty).
Array squeeze(const Array& a, std::vector<int> axes = {});
// Merges axes [start_axis, end_axis] into one.
Array flatten(const Array& a, int start_axis = 0, int end_axis = -1);
// Returns a converted to dtype (a itself when the dtype already matches).
Array astype(const Array& a, Dtype dtype);
// Returns a row-major copy of a (a itself when already row-major contiguous and evaluated).
Array contiguous(const Array& a);
// Returns a copy of a that is always a new node (used where aliasing must be avoided).
Array copy(const Array& a);
// Returns a, with no gradient flowing through it.
Array stop_gradient(const Array& a);

}  // namespace lamina::core
