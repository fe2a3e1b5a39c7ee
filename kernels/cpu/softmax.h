// Softmax of one contiguous float32 row, numerically stable (the row max is subtracted
// before exp). A scalar reference path and an AVX2+FMA path with a vector exp. Leaf code.
#pragma once

#include <cstdint>

#include "kernels/cpu/isa.h"

namespace lamina::kernels {

// y[i] = exp(x[i] - max(x)) / sum_j exp(x[j] - max(x)) for i < n; y may equal x.
// A row holding NaN gives NaN; an all -inf row gives NaN (0 / 0), as other frameworks do.
void softmax_row(const float* x, float* y, int64_t n, Isa isa = best_isa());

// y[i] = exp(x[i]) for i < n (the vector exp the AVX2 softmax uses; exposed for tests).
void exp_row(const float* x, float* y, int64_t n, Isa isa = best_isa());

}  // namespace lamina::kernels
