// eval: runs the lazy graph behind a set of arrays.
#pragma once

#include <ostream>
#include <vector>

#include "libcore/array/array.h"

namespace lamina::core {

// Evaluates the arrays: runs every unevaluated node they depend on, in topological order,
// freeing each intermediate as soon as its last consumer has run.
void eval(const std::vector<Array>& arrays);

// Evaluates the arrays like eval() and, for those that end up on a GPU, records a copy
// back to host memory right behind the work that produces them: reading one of them later
// waits only for that work, not for anything evaluated in between. (On the CPU it is
// eval.) The generation loop uses it to build the next token's graph while the GPU still
// computes the current token.
void async_eval(const std::vector<Array>& arrays);

// The unevaluated nodes behind `arrays` in the order eval() runs them: inputs before
// consumers, depth first; level by level when a node is on a GPU (independent kernels then
// meet between barriers; LAMINA_EVAL_ORDER=dfs keeps the depth-first order).
std::vector<Array> schedule(const std::vector<Array>& arrays);

// Writes the graph behind `arrays` (one line per node: id, primitive, shape, dtype, inputs).
void print_graph(std::ostream& os, const std::vector<Array>& arrays);

// Number of nodes evaluated since start (for tests and benchmarks).
uint64_t evaluated_node_count();

}  // namespace lamina::core
