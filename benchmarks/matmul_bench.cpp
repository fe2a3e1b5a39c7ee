// matmul speed: lamina float32 matmul against raw cblas_sgemm/sgemv on the same shapes
// (GFLOP/s), float16/bfloat16 decode products (GB/s of weight read) and prefill products
// (GFLOP/s), batched small products (attention-like), and a matmul followed by an
// elementwise op (to expose BLAS threads fighting lamina's pool).
//   ./matmul_bench --benchmark_min_time=0.2
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <vector>

#include "libcore/backend/cpu/thread_pool.h"
#include "libcore/ops/ops.h"
#include "libcore/ops/matmul.h"

namespace {

using namespace lamina::core;

Array random_matrix(const Shape& shape, Dtype dtype = Dtype::float32) {
  std::vector<float> v(static_cast<size_t>(shape_size(shape)));
  uint32_t s = 12345;
  for (auto& x : v) {
    s = s * 1664525u + 1013904223u;
    x = static_cast<float>(s >> 8) / 16777216.0f - 0.5f;
  }
  Array a(v, shape);
  if (dtype != Dtype::float32) {
    a = astype(a, dtype);
    a = contiguous(a);
  }
  a.eval();
  return a;
}

void set_flops(benchmark::State& state, double flops) {
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// Args: M, N, K, weight_transposed (B given as W^T with W [N, K] row-major).
void BM_LaminaSgemm(benchmark::State& state) {
  const int64_t M = state.range(0), N = state.range(1), K = state.range(2);
  const bool wt = state.range(3) != 0;
  Array a = random_matrix({M, K});
  Array b = wt ? transpose(random_matrix({N, K})) : random_matrix({K, N});
  for (auto _ : state) {
    Array c = matmul(a, b);
    c.eval();
    benchmark::DoNotOptimize(c.raw_data());
  }
  set_flops(state, 2.0 * M * N * K);
}

void BM_RawSgemm(benchmark::State& state) {
  const int64_t M = state.range(0), N = state.range(1), K = state.range(2);
  const bool wt = state.range(3) != 0;
  openblas_set_num_threads(cpu::num_threads());
  std::vector<float> a(M * K, 0.25f), b(K * N, 0.5f), c(M * N);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, wt ? CblasTrans : CblasNoTrans, int(M), int(N),
                int(K), 1.0f, a.data(), int(K), b.data(), wt ? int(K) : int(N), 0.0f, c.data(),
                int(N));
    benchmark::DoNotOptimize(c.data());
  }
  set_flops(state, 2.0 * M * N * K);
}

// The raw matrix-vector call lamina makes for M = 1 (x @ W^T).
void BM_RawSgemv(benchmark::State& state) {
  const int64_t N = state.range(1), K = state.range(2);
  openblas_set_num_threads(cpu::num_threads());
  std::vector<float> x(K, 0.25f), w(K * N, 0.5f), y(N);
  for (auto _ : state) {
    cblas_sgemv(CblasRowMajor, CblasNoTrans, int(N), int(K), 1.0f, w.data(), int(K), x.data(), 1,
                0.0f, y.data(), 1);
    benchmark::DoNotOptimize(y.data());
  }
  set_flops(state, 2.0 * N * K);
}

void SgemmShapes(benchmark::internal::Benchmark* b) {
  b->Args({512, 512, 512, 0})->Args({1024, 1024, 1024, 0})->Args({2048, 2048, 2048, 0});
  b->Args({1, 5632, 2048, 1})->Args({128, 5632, 2048, 1})->Args({1, 5632, 2048, 0});
  b->ArgNames({"M", "N", "K", "wT"})->UseRealTime()->Unit(benchmark::kMillisecond);
}
BENCHMARK(BM_LaminaSgemm)->Apply(SgemmShapes);
BENCHMARK(BM_RawSgemm)->Apply(SgemmShapes);
BENCHMARK(BM_RawSgemv)
    ->Args({1, 5632, 2048, 1})
    ->ArgNames({"M", "N", "K", "wT"})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Half weights. Args: M, N, K, weight_transposed, dtype (0 bfloat16, 1 float16).
void BM_LaminaHalf(benchmark::State& state) {
  const int64_t M = state.range(0), N = state.range(1), K = state.range(2);
  const bool wt = state.range(3) != 0;
  const Dtype dtype = state.range(4) == 0 ? Dtype::bfloat16 : Dtype::float16;
  Array x = random_matrix({M, K}, dtype);
  Array w = wt ? transpose(random_matrix({N, K}, dtype)) : random_matrix({K, N}, dtype);
  for (auto _ : state) {
    Array y = matmul(x, w);
    y.eval();
    benchmark::DoNotOptimize(y.raw_data());
  }
  state.counters["weight_GB/s"] = benchmark::Counter(
      2.0 * N * K * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  set_flops(state, 2.0 * M * N * K);
}
BENCHMARK(BM_LaminaHalf)
    ->Args({1, 5632, 2048, 1, 0})
    ->Args({1, 5632, 2048, 1, 1})
    ->Args({1, 5632, 2048, 0, 0})
    ->Args({4, 5632, 2048, 1, 0})
    ->Args({16, 5632, 2048, 1, 0})
    ->Args({17, 5632, 2048, 1, 0})
    ->Args({32, 5632, 2048, 1, 0})
    ->Args({128, 5632, 2048, 1, 0})
    ->Args({128, 5632, 2048, 1, 1})
    ->Args({512, 5632, 2048, 1, 1})
    ->Args({512, 2048, 5632, 1, 1})
    ->ArgNames({"M", "N", "K", "wT", "f16"})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Decode from memory rather than cache: one row times each of 48 [5632, 2048] weights in
// turn (1.1 GB of float16/bfloat16, far beyond L3), against the machine's read bandwidth
// over the same bytes (BM_ReadBandwidth). Args: dtype (0 bfloat16, 1 float16).
constexpr int kStreamWeights = 48;
const std::vector<Array>& stream_weights(Dtype dtype) {
  static std::vector<Array> weights[2];
  auto& w = weights[dtype == Dtype::float16 ? 1 : 0];
  if (w.empty()) {
    Array base = random_matrix({5632, 2048}, dtype);
    for (int i = 0; i < kStreamWeights; ++i) {
      Array c = contiguous(base + Array(0.0, dtype));  // a distinct buffer each
      c.eval();
      w.push_back(c);
    }
  }
  return w;
}
void BM_LaminaHalfStream(benchmark::State& state) {
  const Dtype dtype = state.range(0) == 0 ? Dtype::bfloat16 : Dtype::float16;
  const auto& weights = stream_weights(dtype);
  Array x = random_matrix({1, 2048}, dtype);
  for (auto _ : state) {
    for (const auto& w : weights) {
      Array y = matmul(x, transpose(w));
      y.eval();
      benchmark::DoNotOptimize(y.raw_data());
    }
  }
  state.counters["weight_GB/s"] = benchmark::Counter(
      2.0 * 5632 * 2048 * kStreamWeights * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_LaminaHalfStream)->Arg(0)->Arg(1)->ArgName("f16")->UseRealTime()->Unit(benchmark::kMillisecond);

// Sums every 8-byte word of the same 1.1 GB split over lamina's pool: the read bandwidth.
void BM_ReadBandwidth(benchmark::State& state) {
  const auto& weights = stream_weights(Dtype::float16);
  for (auto _ : state) {
    uint64_t total = 0;
    for (const auto& w : weights) {
      const auto* p = w.data<uint64_t>();
      const int64_t n = static_cast<int64_t>(w.nbytes() / 8);
      std::vector<uint64_t> partial(static_cast<size_t>(cpu::num_threads()) * 8, 0);
      cpu::parallel_for(n, 1 << 16, [&](int64_t b, int64_t e) {
        uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int64_t i = b;
        for (; i + 4 <= e; i += 4) {
          s0 += p[i];
          s1 += p[i + 1];
          s2 += p[i + 2];
          s3 += p[i + 3];
        }
        for (; i < e; ++i) s0 += p[i];
        partial[static_cast<size_t>(b * cpu::num_threads() / n) * 8] = s0 + s1 + s2 + s3;
      });
      for (uint64_t v : partial) total += v;
    }
    benchmark::DoNotOptimize(total);
  }
  state.counters["GB/s"] = benchmark::Counter(2.0 * 5632 * 2048 * kStreamWeights * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_ReadBandwidth)->UseRealTime()->Unit(benchmark::kMillisecond);

// Attention-like stacks: [heads, L, D] @ [heads, D, S]. Args: heads, L, D, S.
void BM_LaminaBatched(benchmark::State& state) {
  const int64_t H = state.range(0), L = state.range(1), D = state.range(2), S = state.range(3);
  Array q = random_matrix({H, L, D});
  Array k = swapaxes(random_matrix({H, S, D}), 1, 2);
  for (auto _ : state) {
    Array s = matmul(q, k);
    s.eval();
    benchmark::DoNotOptimize(s.raw_data());
  }
  set_flops(state, 2.0 * H * L * D * S);
}
void BM_RawBatchedLoop(benchmark::State& state) {
  const int64_t H = state.range(0), L = state.range(1), D = state.range(2), S = state.range(3);
  openblas_set_num_threads(cpu::num_threads());
  std::vector<float> q(H * L * D, 0.25f), k(H * S * D, 0.5f), s(H * L * S);
  for (auto _ : state) {
    for (int64_t h = 0; h < H; ++h) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(L), int(S), int(D), 1.0f,
                  q.data() + h * L * D, int(D), k.data() + h * S * D, int(D), 0.0f,
                  s.data() + h * L * S, int(S));
    }
    benchmark::DoNotOptimize(s.data());
  }
  set_flops(state, 2.0 * H * L * D * S);
}
void BatchedShapes(benchmark::internal::Benchmark* b) {
  b->Args({32, 1, 64, 512})->Args({32, 1, 128, 2048})->Args({32, 128, 64, 128});
  b->ArgNames({"H", "L", "D", "S"})->UseRealTime()->Unit(benchmark::kMicrosecond);
}
BENCHMARK(BM_LaminaBatched)->Apply(BatchedShapes);
BENCHMARK(BM_RawBatchedLoop)->Apply(BatchedShapes);

// A GEMM then an elementwise op over a large array: BLAS worker threads that keep
// spinning after the GEMM would slow the elementwise op down. Compare with the sum of
// the two measured alone (BM_LaminaSgemm 128x5632x2048 + BM_AddAlone).
void BM_MatmulThenAdd(benchmark::State& state) {
  Array a = random_matrix({128, 2048});
  Array w = transpose(random_matrix({5632, 2048}));
  Array big = random_matrix({4096, 4096});
  for (auto _ : state) {
    Array c = matmul(a, w);
    c.eval();
    Array d = big + big;
    d.eval();
    benchmark::DoNotOptimize(d.raw_data());
  }
}
void BM_AddAlone(benchmark::State& state) {
  Array big = random_matrix({4096, 4096});
  for (auto _ : state) {
    Array d = big + big;
    d.eval();
    benchmark::DoNotOptimize(d.raw_data());
  }
}
BENCHMARK(BM_MatmulThenAdd)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AddAlone)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
