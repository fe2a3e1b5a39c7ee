// Elementwise bandwidth: add/mul over 64 MiB float32 arrays in GB/s (bytes read + written
// per second) against memcpy of the same number of bytes, on one thread and split over
// lamina's pool.
//   ./elementwise_bench --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#include "libcore/backend/cpu/thread_pool.h"
#include "libcore/ops/ops.h"

namespace {

using namespace lamina::core;

constexpr int64_t kElements = 16 << 20;  // 64 MiB of float32

Array filled(float value) {
  Array a = full({kElements}, value, Dtype::float32);
  a = copy(a);  // a real 64 MiB buffer, not a stride-0 broadcast
  a.eval();
  return a;
}

void set_bandwidth(benchmark::State& state, double bytes) {
  state.counters["GB/s"] =
      benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// Two inputs held by the caller (no donation): read 2 arrays, write 1.
void BM_Add(benchmark::State& state) {
  Array a = filled(1.0f), b = filled(2.0f);
  for (auto _ : state) {
    Array c = a + b;
    c.eval();
    benchmark::DoNotOptimize(c.raw_data());
  }
  set_bandwidth(state, 3.0 * kElements * 4);
}

void BM_Multiply(benchmark::State& state) {
  Array a = filled(1.0f), b = filled(2.0f);
  for (auto _ : state) {
    Array c = a * b;
    c.eval();
    benchmark::DoNotOptimize(c.raw_data());
  }
  set_bandwidth(state, 3.0 * kElements * 4);
}

// Array + scalar (stride-0 operand): read 1 array, write 1.
void BM_AddScalar(benchmark::State& state) {
  Array a = filled(1.0f);
  for (auto _ : state) {
    Array c = a + 3.0;
    c.eval();
    benchmark::DoNotOptimize(c.raw_data());
  }
  set_bandwidth(state, 2.0 * kElements * 4);
}

// memcpy moving the same bytes as one add (read 1.5 arrays, write 1.5 arrays).
void BM_Memcpy(benchmark::State& state) {
  const size_t bytes = static_cast<size_t>(kElements) * 4 * 3 / 2;
  std::vector<char> src(bytes, 1), dst(bytes, 0);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), bytes);
    benchmark::DoNotOptimize(dst.data());
  }
  set_bandwidth(state, 2.0 * bytes);
}

void BM_MemcpyParallel(benchmark::State& state) {
  const size_t bytes = static_cast<size_t>(kElements) * 4 * 3 / 2;
  std::vector<char> src(bytes, 1), dst(bytes, 0);
  for (auto _ : state) {
    cpu::parallel_for(static_cast<int64_t>(bytes), 1 << 20, [&](int64_t b, int64_t e) {
      std::memcpy(dst.data() + b, src.data() + b, static_cast<size_t>(e - b));
    });
    benchmark::DoNotOptimize(dst.data());
  }
  set_bandwidth(state, 2.0 * bytes);
}

BENCHMARK(BM_Add)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Multiply)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AddScalar)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Memcpy)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MemcpyParallel)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
