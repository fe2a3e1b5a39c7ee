// Reverse-mode autodiff over the lazy graph: vjp, grad, value_and_grad, checkpoint.
#pragma once

#include <functional>
#include <utility>
#include <vector>

#include "libcore/array/array.h"

namespace lamina::core {

using ArrayFunction = std::function<std::vector<Array>(const std::vector<Array>&)>;
using ScalarFunction = std::function<Array(const std::vector<Array>&)>;

// Returns fun(primals) and the vector-Jacobian products of `cotangents` (one per output)
// with respect to each primal. Nothing is evaluated; both results are lazy.
std::pair<std::vector<Array>, std::vector<Array>> vjp(const ArrayFunction& fun,
                                                      const std::vector<Array>& primals,
                                                      const std::vector<Array>& cotangents);

// Returns fun(primals) (a scalar) and its gradient with respect to each primal.
std::pair<Array, std::vector<Array>> value_and_grad(const ScalarFunction& fun,
                                                    const std::vector<Array>& primals);

// Returns the gradient of the scalar fun(primals) with respect to each primal.
std::vector<Array> grad(const ScalarFunction& fun, const std::vector<Array>& primals);

// Returns fun wrapped so that its intermediates are not kept for the backward pass: the
// vjp recomputes them from the inputs (gradient checkpointing). fun returns one array.
ScalarFunction checkpoint(ScalarFunction fun);

}  // namespace lamina::core
