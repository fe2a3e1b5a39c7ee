// Reductions over any axes (all axes when `axes` is empty).
#pragma once

#include <vector>

#include "libcore/array/array.h"

namespace lamina::core {

// Sums of bool/small integer arrays accumulate in int32/uint32 (as MLX does).
Array sum(const Array& a, std::vector<int> axes = {}, bool keepdims = false);
Array prod(const Array& a, std::vector<int> axes = {}, bool keepdims = false);
Array max(const Array& a, std::vector<int> axes = {}, bool keepdims = false);
Array min(const Array& a, std::vector<int> axes = {}, bool keepdims = false);
Array mean(const Array& a, std::vector<int> axes = {}, bool keepdims = false);
// Population variance (ddof = 0), or with `ddof` subtracted from the count.
Array var(const Array& a, std::vector<int> axes = {}, bool keepdims = false, int ddof = 0);
// log(sum(exp(a))) computed stably.
Array logsumexp(const Array& a, std::vector<int> axes = {}, bool keepdims = false);
// Index (uint32) of the largest/smallest element along axis (of the flattened array when
// axis is not given).
Array argmax(const Array& a, int axis, bool keepdims = false);
Array argmin(const Array& a, int axis, bool keepdims = false);
Array argmax(const Array& a);
Array argmin(const Array& a);

}  // namespace lamina::core
