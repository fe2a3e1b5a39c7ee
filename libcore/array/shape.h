// Shape and Strides (element counts, row-major) and the helpers views are built from.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lamina::core {

using Shape = std::vector<int64_t>;
using Strides = std::vector<int64_t>;  // in elements, may be 0 (broadcast) or negative never

// Returns the number of elements (1 for a scalar shape).
int64_t shape_size(const Shape& shape);
// Returns the row-major strides of a contiguous array of this shape.
Strides row_major_strides(const Shape& shape);
// Returns "[2, 3, 4]".
std::string shape_string(const Shape& shape);
// Returns axis normalized to [0, ndim); throws lamina::Error if out of range.
int normalize_axis(int axis, int ndim);
// Returns the broadcast shape of a and b (NumPy rules); throws lamina::Error if incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b);
// Returns true when an array with these shape/strides is row-major contiguous (size-1 dims
// ignored).
bool is_row_contiguous(const Shape& shape, const Strides& strides);

// Multiplies sizes with overflow checking; throws lamina::Error naming what overflowed.
int64_t checked_shape_size(const Shape& shape, const std::string& what);

}  // namespace lamina::core
