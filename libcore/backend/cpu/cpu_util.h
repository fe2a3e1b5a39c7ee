// Helpers CPU kernels share: choosing an output buffer (donation) and copying layouts.
#pragma once

#include <vector>

#include "libcore/array/array.h"

namespace lamina::core::cpu {

// True when `in` may hand its buffer to `out`: nothing else refers to the node or the
// buffer, the allocator owns it, it is row-major and it has out's byte size.
bool can_donate(const Array& in, const Array& out);
// Gives `out` a row-major buffer: the first donatable input's, else a fresh one.
void prepare_output(Array& out, const std::vector<Array>& inputs);
// Copies `in` (any strides) into the row-major `out`, converting the dtype.
void copy_convert(const Array& in, Array& out);

}  // namespace lamina::core::cpu
