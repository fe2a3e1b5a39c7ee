// Per-node overhead of the lazy runtime: a graph of 1000 small ops (a chain of adds on
// 16-element arrays) built and evaluated, reported as microseconds per node; graph
// construction alone and a wide graph (1000 independent adds) for comparison.
//   ./eval_overhead_bench --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include <chrono>
#include <vector>

#include "libcore/ops/ops.h"

namespace {

using namespace lamina::core;

constexpr int kNodes = 1000;

Array small_array(float value) {
  std::vector<float> v(16, value);
  Array a(v, {16});
  a.eval();
  return a;
}

// Times each iteration's body (wall clock), graph teardown included, so that the per-node
// figure is a plain number.
class Timer {
 public:
  void start() { t0_ = std::chrono::steady_clock::now(); }
  void stop() { total_ += std::chrono::steady_clock::now() - t0_; }
  double seconds() const { return std::chrono::duration<double>(total_).count(); }

 private:
  std::chrono::steady_clock::time_point t0_;
  std::chrono::steady_clock::duration total_{};
};

// Reports wall time per node in microseconds and the nodes per iteration.
void set_per_node(benchmark::State& state, const Timer& timer, double total_nodes) {
  state.counters["us_per_node"] = timer.seconds() * 1e6 / total_nodes;
  state.counters["nodes_per_iter"] = total_nodes / static_cast<double>(state.iterations());
}

// x = x + y, 1000 times, then eval: construction + scheduling + kernels.
void BM_ChainBuildAndEval(benchmark::State& state) {
  Array x0 = small_array(1.0f), y = small_array(0.5f);
  const uint64_t before = evaluated_node_count();
  Timer timer;
  for (auto _ : state) {
    timer.start();
    {
      Array x = x0;
      for (int i = 0; i < kNodes; ++i) x = x + y;
      x.eval();
      benchmark::DoNotOptimize(x.raw_data());
    }
    timer.stop();
  }
  set_per_node(state, timer, static_cast<double>(evaluated_node_count() - before));
}

// Construction only (the graph is dropped unevaluated).
void BM_ChainBuildOnly(benchmark::State& state) {
  Array x0 = small_array(1.0f), y = small_array(0.5f);
  Timer timer;
  for (auto _ : state) {
    timer.start();
    {
      Array x = x0;
      for (int i = 0; i < kNodes; ++i) x = x + y;
      benchmark::DoNotOptimize(x.id());
    }
    timer.stop();
  }
  set_per_node(state, timer, static_cast<double>(state.iterations()) * kNodes);
}

// 1000 independent adds evaluated together (wide graph: scheduler bookkeeping per root).
void BM_WideBuildAndEval(benchmark::State& state) {
  Array x0 = small_array(1.0f), y = small_array(0.5f);
  std::vector<Array> outs(kNodes);
  const uint64_t before = evaluated_node_count();
  Timer timer;
  for (auto _ : state) {
    timer.start();
    {
      for (int i = 0; i < kNodes; ++i) outs[i] = x0 + y;
      eval(outs);
      benchmark::DoNotOptimize(outs.back().raw_data());
    }
    timer.stop();
  }
  set_per_node(state, timer, static_cast<double>(evaluated_node_count() - before));
}

// Mixed small ops (mul, exp, reshape views, sum, scalar broadcast) as model code makes them.
void BM_MixedChainBuildAndEval(benchmark::State& state) {
  Array x0 = small_array(0.1f), y = small_array(0.5f);
  const uint64_t before = evaluated_node_count();
  Timer timer;
  for (auto _ : state) {
    timer.start();
    {
      Array x = x0;
      for (int i = 0; i < kNodes / 5; ++i) {
        x = exp(reshape(x * y, {4, 4}));
        x = reshape(x, {16}) + sum(x) * 1e-3;
      }
      x.eval();
      benchmark::DoNotOptimize(x.raw_data());
    }
    timer.stop();
  }
  // Nodes are counted as evaluated (broadcasts and reshapes included).
  set_per_node(state, timer, static_cast<double>(evaluated_node_count() - before));
}

BENCHMARK(BM_ChainBuildAndEval)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ChainBuildOnly)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_WideBuildAndEval)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MixedChainBuildAndEval)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
