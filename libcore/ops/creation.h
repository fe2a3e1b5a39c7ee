// Array creation: full, zeros, ones, arange, and *_like variants.
#pragma once

#include "libcore/array/array.h"

namespace lamina::core {

Array full(const Shape& shape, double value, Dtype dtype = Dtype::float32);
Array full(const Shape& shape, const Array& value);  // value broadcast, its dtype
Array zeros(const Shape& shape, Dtype dtype = Dtype::float32);
Array ones(const Shape& shape, Dtype dtype = Dtype::float32);
Array zeros_like(const Array& a);
Array ones_like(const Array& a);
// Returns [start, start + step, ...) below stop (above stop for step < 0).
Array arange(double start, double stop, double step = 1.0, Dtype dtype = Dtype::float32);
Array arange(int64_t stop, Dtype dtype = Dtype::int32);

}  // namespace lamina::core
