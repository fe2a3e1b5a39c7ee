// Indexing ops: joining and splitting arrays (concatenate, stack, split, pad), integer
// indexing (take/gather, take_along_axis) and its inverses (scatter, scatter_add,
// put_along_axis), and triangular masks (tril, triu).
//
// Indices may have any integer dtype and any shape. Negative indices count from the end of
// the axis; an index outside [-size, size) makes eval throw lamina::Error naming it.
#pragma once

#include <utility>
#include <vector>

#include "libcore/array/array.h"

namespace lamina::core {

// Returns the arrays joined along `axis` (all other dims must match); the dtype is the
// promotion of theirs.
Array concatenate(const std::vector<Array>& arrays, int axis = 0);
// Returns the arrays (all one shape) stacked along a new axis at position `axis`.
Array stack(const std::vector<Array>& arrays, int axis = 0);
// Returns `num_sections` equal views of a along axis (the size must divide evenly).
std::vector<Array> split(const Array& a, int num_sections, int axis = 0);
// Returns the views a[:i0], a[i0:i1], ..., a[ik:] along axis (NumPy's split at indices).
std::vector<Array> split(const Array& a, const Shape& indices, int axis = 0);

// Returns a with widths[i] = (before, after) elements of `value` added on each side of axis
// i. One pair applies to every axis.
Array pad(const Array& a, const std::vector<std::pair<int64_t, int64_t>>& widths,
          double value = 0.0);

// Returns a[..., indices, ...]: the entries of a at `indices` along axis. The result has
// shape a.shape[:axis] + indices.shape + a.shape[axis+1:].
Array take(const Array& a, const Array& indices, int axis);
// Returns the entries of the flattened a at `indices` (shape indices.shape).
Array take(const Array& a, const Array& indices);
// The same as take(a, indices, axis) (MLX and PyTorch users look for this name).
Array gather(const Array& a, const Array& indices, int axis);

// Returns a copy of a with a[..., indices, ...] = updates along axis: the inverse of take.
// updates broadcast to take(a, indices, axis)'s shape. With repeated indices the last
// update (in row-major order of indices) wins.
Array scatter(const Array& a, const Array& indices, const Array& updates, int axis);
// As scatter, but adds the updates to a; repeated indices accumulate.
Array scatter_add(const Array& a, const Array& indices, const Array& updates, int axis);

// Returns out with out[..., j, ...] = a[..., indices[..., j, ...], ...] along axis.
// indices has a's ndim; both broadcast against each other on the other axes.
Array take_along_axis(const Array& a, const Array& indices, int axis);
// Returns a copy of a with a[..., indices[..., j, ...], ...] = values[..., j, ...] along axis:
// the inverse of take_along_axis. indices broadcast to a's shape on the other axes, values
// to indices' shape. With repeated indices in a row, the last one wins.
Array put_along_axis(const Array& a, const Array& indices, const Array& values, int axis);
// As put_along_axis, but adds the values to a; repeated indices accumulate.
Array scatter_add_along_axis(const Array& a, const Array& indices, const Array& values,
                             int axis);

// Returns a with the entries above the k-th diagonal of its last two axes zeroed (k = 0 is
// the main diagonal, k > 0 above it, k < 0 below it).
Array tril(const Array& a, int k = 0);
// Returns a with the entries below the k-th diagonal of its last two axes zeroed.
Array triu(const Array& a, int k = 0);

}  // namespace lamina::core
