// Quantized kernels' speed: decode products (one input row; GB/s of packed weight + scales
// + biases read, the figure to compare with memory bandwidth), prefill products (128 and 512
// rows, the fifth argument; GFLOP/s) and quantizing (GB/s of float16 input), on TinyLlama's MLP shape [5632, 2048].
// Decode and prefill run with float32 and int8 activations (the last argument: 0 float32,
// 1 int8) in the same run, so that their ratio holds on a noisy machine. The thread count
// is the third argument.
//   ./quantized_bench --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include <vector>

#include "libcore/backend/cpu/thread_pool.h"
#include "libcore/ops/ops.h"

namespace {

using namespace lamina::core;

constexpr int64_t kRows = 5632, kCols = 2048;

Array random_matrix(const Shape& shape, Dtype dtype) {
  std::vector<float> v(static_cast<size_t>(shape_size(shape)));
  uint32_t s = 12345;
  for (auto& x : v) {
    s = s * 1664525u + 1013904223u;
    x = (static_cast<float>(s >> 8) / 16777216.0f - 0.5f) * 0.1f;
  }
  Array a = contiguous(astype(Array(v, shape), dtype));
  a.eval();
  return a;
}

struct Weights {
  QuantizedArrays q;
  uint64_t bytes;
};

Weights quantized_weights(int bits, int group) {
  auto q = quantize(random_matrix({kRows, kCols}, Dtype::float16), group, bits);
  q.weight = contiguous(q.weight);
  q.scales = contiguous(q.scales);
  q.biases = contiguous(q.biases);
  eval({q.weight, q.scales, q.biases});
  return {q, q.weight.nbytes() + q.scales.nbytes() + q.biases.nbytes()};
}

QuantizedActivations activations_arg(benchmark::State& state) {
  const auto a = state.range(3) ? QuantizedActivations::int8 : QuantizedActivations::float32;
  state.SetLabel(quantized_activations_name(a));
  return a;
}

// Args: bits, group size, threads, int8 activations.
void BM_QuantizedDecode(benchmark::State& state) {
  const int bits = static_cast<int>(state.range(0)), group = static_cast<int>(state.range(1));
  cpu::set_num_threads(static_cast<int>(state.range(2)));
  const QuantizedActivations activations = activations_arg(state);
  Weights w = quantized_weights(bits, group);
  Array x = random_matrix({1, kCols}, Dtype::float16);
  for (auto _ : state) {
    Array y = quantized_matmul(x, w.q.weight, w.q.scales, w.q.biases, true, group, bits, activations);
    y.eval();
    benchmark::DoNotOptimize(y.raw_data());
  }
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(w.bytes) * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}

// Args: bits, group size, threads, int8 activations, input rows.
void BM_QuantizedPrefill(benchmark::State& state) {
  const int bits = static_cast<int>(state.range(0)), group = static_cast<int>(state.range(1));
  cpu::set_num_threads(static_cast<int>(state.range(2)));
  const QuantizedActivations activations = activations_arg(state);
  Weights w = quantized_weights(bits, group);
  const int64_t rows = state.range(4);
  Array x = random_matrix({rows, kCols}, Dtype::float16);
  for (auto _ : state) {
    Array y = quantized_matmul(x, w.q.weight, w.q.scales, w.q.biases, true, group, bits, activations);
    y.eval();
    benchmark::DoNotOptimize(y.raw_data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(rows) * kRows * kCols * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

// Args: bits, group size, threads.
void BM_Quantize(benchmark::State& state) {
  const int bits = static_cast<int>(state.range(0)), group = static_cast<int>(state.range(1));
  cpu::set_num_threads(static_cast<int>(state.range(2)));
  Array w = random_matrix({kRows, kCols}, Dtype::float16);
  for (auto _ : state) {
    auto q = quantize(w, group, bits);
    eval({q.weight, q.scales, q.biases});
  }
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(w.nbytes()) * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}

void Args(benchmark::internal::Benchmark* b) {
  for (int threads : {1, 2}) {
    for (auto [bits, group] : {std::pair{4, 64}, {4, 32}, {8, 64}, {8, 32}, {2, 64}, {3, 64}, {5, 64}, {6, 64}}) {
      for (int int8 : {0, 1}) b->Args({bits, group, threads, int8});
    }
  }
  b->UseRealTime();
}

void PrefillArgs(benchmark::internal::Benchmark* b) {
  for (int rows : {128, 512}) {
    for (auto [bits, threads] : {std::pair{4, 1}, {4, 2}, {8, 2}}) {
      for (int int8 : {0, 1}) b->Args({bits, 64, threads, int8, rows});
    }
  }
  b->UseRealTime();
}

BENCHMARK(BM_QuantizedDecode)->Apply(Args);
BENCHMARK(BM_QuantizedPrefill)->Apply(PrefillArgs);
BENCHMARK(BM_Quantize)->Args({4, 64, 1})->Args({4, 64, 2})->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
