// Softmax over one or more axes.
#pragma once

#include <vector>

#include "libcore/array/array.h"

namespace lamina::core {

// Returns exp(a - max) / sum(exp(a - max)) over `axes` (all axes when empty), computed
// stably. Integer and bool arrays give float32; float16/bfloat16 keep their dtype and are
// computed in float32 on the CPU whatever `precise` says (it asks backends that would
// otherwise compute in the input dtype to use float32, as in MLX).
Array softmax(const Array& a, std::vector<int> axes, bool precise = false);
// Softmax along one axis (the last by default).
Array softmax(const Array& a, int axis = -1, bool precise = false);

}  // namespace lamina::core
