// safetensors load speed: a ~1 GB file is written once, then loading it (mmap + header
// parse, zero-copy) and reading all of its pages are timed, with the RSS each step costs;
// plus a header of 20k tensors (MoE-sized), where header parsing dominates.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "libcore/array/array.h"
#include "libcore/io/safetensors.h"

namespace {

namespace fs = std::filesystem;
using lamina::core::Array;
using lamina::core::Dtype;

// 256 bfloat16 tensors of 2048 x 1024 = 4 MiB each: 1 GiB, shaped like a model's weights.
constexpr int kTensors = 256;
constexpr int64_t kRows = 2048, kCols = 1024;

uint64_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

struct Fixture {
  std::string dir;
  std::string file;
  double write_seconds = 0;
  uint64_t file_bytes = 0;
  ~Fixture() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

// Writes the file the first time a benchmark needs it (its write speed is reported too).
const Fixture& fixture() {
  static Fixture f = [] {
    Fixture x;
    x.dir = (fs::temp_directory_path() / ("lamina_bench_" + std::to_string(::getpid()))).string();
    fs::create_directories(x.dir);
    x.file = x.dir + "/model.safetensors";
    // One shared source buffer: the writer streams each array's bytes, the values do not matter.
    std::vector<uint16_t> values(static_cast<size_t>(kRows * kCols));
    for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<uint16_t>(0x3f80 + (i % 64));
    Array source = Array::from_bytes(values.data(), {kRows, kCols}, Dtype::bfloat16);
    lamina::io::NamedArrays tensors;
    for (int i = 0; i < kTensors; ++i) {
      tensors.emplace_back("model.layers." + std::to_string(i) + ".weight", source);
    }
    auto start = std::chrono::steady_clock::now();
    lamina::io::save_safetensors(x.file, tensors, {{"format", "mlx"}});
    x.write_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    x.file_bytes = fs::file_size(x.file);
    return x;
  }();
  return f;
}

// Load alone: mmap + header validation + array creation; no tensor page is read.
void BM_SafetensorsLoad(benchmark::State& state) {
  const Fixture& f = fixture();
  uint64_t rss_delta = 0;
  for (auto _ : state) {
    uint64_t before = rss_bytes();
    auto loaded = lamina::io::load_safetensors(f.file);
    benchmark::DoNotOptimize(loaded.tensors.size());
    rss_delta = rss_bytes() - std::min(rss_bytes(), before);
  }
  state.counters["file_MB"] = static_cast<double>(f.file_bytes) / 1e6;
  state.counters["write_GB/s"] = static_cast<double>(f.file_bytes) / 1e9 / f.write_seconds;
  state.counters["rss_after_load_MB"] = static_cast<double>(rss_delta) / 1e6;
}
BENCHMARK(BM_SafetensorsLoad)->Unit(benchmark::kMillisecond);

// Load, then read one byte of every page: what the first forward pass pays (page cache warm).
void BM_SafetensorsLoadAndTouch(benchmark::State& state) {
  const Fixture& f = fixture();
  uint64_t after_load = 0, after_touch = 0;
  const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  for (auto _ : state) {
    uint64_t before = rss_bytes();
    auto loaded = lamina::io::load_safetensors(f.file);
    after_load = rss_bytes() - std::min(rss_bytes(), before);
    uint64_t sum = 0;
    for (const auto& [name, a] : loaded.tensors) {
      const auto* p = a.data<uint8_t>();
      for (size_t i = 0; i < a.nbytes(); i += page) sum += p[i];
    }
    benchmark::DoNotOptimize(sum);
    after_touch = rss_bytes() - std::min(rss_bytes(), before);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.file_bytes));
  state.counters["rss_after_load_MB"] = static_cast<double>(after_load) / 1e6;
  state.counters["rss_after_touch_MB"] = static_cast<double>(after_touch) / 1e6;
}
BENCHMARK(BM_SafetensorsLoadAndTouch)->Unit(benchmark::kMillisecond);

// 20000 small tensors (an MoE model's expert count): the cost is the header, not the data.
const std::string& many_tensors_file() {
  static const std::string file = [] {
    std::string path = fixture().dir + "/many.safetensors";
    Array small = Array::from_bytes(std::vector<uint16_t>(64).data(), {8, 8}, Dtype::bfloat16);
    lamina::io::NamedArrays tensors;
    for (int i = 0; i < 20000; ++i) {
      tensors.emplace_back("model.layers." + std::to_string(i / 400) + ".mlp.experts." +
                               std::to_string(i % 400) + ".weight",
                           small);
    }
    lamina::io::save_safetensors(path, tensors);
    return path;
  }();
  return file;
}

void BM_SafetensorsLoadManyTensors(benchmark::State& state) {
  const std::string& file = many_tensors_file();
  for (auto _ : state) {
    auto loaded = lamina::io::load_safetensors(file);
    benchmark::DoNotOptimize(loaded.tensors.size());
  }
  state.counters["tensors"] = 20000;
}
BENCHMARK(BM_SafetensorsLoadManyTensors)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
