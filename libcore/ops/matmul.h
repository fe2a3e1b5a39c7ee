// Matrix product with NumPy matmul semantics.
#pragma once

#include "libcore/array/array.h"

namespace lamina::core {

// Returns the matrix product a @ b as numpy.matmul defines it: a 1-D a is a row vector
// and a 1-D b a column vector (the added axis is dropped from the result); arrays with
// more than 2 dims are stacks of matrices in the last two dims, whose leading (batch)
// dims broadcast. Operands are promoted to one dtype (bool @ bool is bool: any(a & b)).
// float32 runs on BLAS; float16/bfloat16 accumulate in float32; integers wrap as their
// type does. Throws lamina::Error for 0-d operands or mismatched inner sizes.
Array matmul(const Array& a, const Array& b);

}  // namespace lamina::core
