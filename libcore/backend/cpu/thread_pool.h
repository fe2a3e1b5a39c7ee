// The CPU thread pool that kernels split their loops over.
#pragma once

#include <cstdint>
#include <functional>

namespace lamina::core::cpu {

// Number of threads kernels use (LAMINA_NUM_THREADS, else the hardware concurrency).
int num_threads();
// Changes the number of threads (1 = run everything on the calling thread).
void set_num_threads(int n);

// Runs fn(begin, end) over [0, n) split into contiguous chunks across the pool. Chunks
// hold at least `grain` items; a loop below 2 * grain runs on the calling thread.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace lamina::core::cpu
