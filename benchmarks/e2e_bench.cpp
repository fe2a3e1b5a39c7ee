// End-to-end speed of one model directory through the library (models::load_model +
// generate::generate, as `lamina generate` runs it): prefill tokens/s of a random prompt,
// generation tokens/s, and the process's peak RSS against weights + KV cache.
//   e2e_bench --model /tmp/bench-tinyllama-f16 --threads 2 [--prompt-tokens 512]
//             [--gen-tokens 128] [--runs 2] [--bandwidth GB/s] [--json | --markdown]
//   e2e_bench --read-bandwidth --threads 2     (GB/s; its figure goes to --bandwidth)
// One configuration per process, so that peak RSS belongs to it (scripts/bench_e2e.sh runs
// the matrix). Greedy sampling, EOS ignored: always exactly --gen-tokens tokens.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "libcore/backend/cpu/thread_pool.h"
#ifdef LAMINA_HAS_VULKAN
#include "libcore/backend/vulkan/profiler.h"
#endif
#include "libcore/generate/generator.h"
#include "libcore/models/loader.h"

namespace {

namespace fs = std::filesystem;
using namespace lamina;

struct Options {
  std::string model;
  int threads = 0;  // 0: LAMINA_NUM_THREADS or the hardware's
  int prompt_tokens = 512;
  int gen_tokens = 128;
  int runs = 1;
  int warmup_tokens = 8;
  uint64_t seed = 0;
  bool json = false;
  bool markdown = false;  // one table row (scripts/bench_e2e.sh collects them)
  bool read_bandwidth = false;  // only measure the machine's read bandwidth, then exit
  double bandwidth_gbs = 0;     // read bandwidth measured before (for the bound column)
  std::string quantized_activations;  // float32 | int8; empty: as the CLI (int8 where supported)
  std::string device = "cpu";
};

using u64x4 = uint64_t __attribute__((vector_size(32)));

// Sum of p[b, e) with four accumulators; cloned for AVX-512, AVX2 and baseline x86-64 so the
// bandwidth figure is what wide loads get, as the decode kernels use them.
#if defined(__x86_64__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
uint64_t sum_words(const u64x4* p, int64_t b, int64_t e) {
  u64x4 s0{}, s1{}, s2{}, s3{};
  int64_t i = b;
  for (; i + 4 <= e; i += 4) {
    s0 += p[i];
    s1 += p[i + 1];
    s2 += p[i + 2];
    s3 += p[i + 3];
  }
  for (; i < e; ++i) s0 += p[i];
  const u64x4 s = s0 + s1 + s2 + s3;
  return s[0] + s[1] + s[2] + s[3];
}

// Read bandwidth of this machine over lamina's pool: sums every word of a 1 GiB buffer,
// best of five passes. Run in its own process (--read-bandwidth) so that its buffer does not
// count in a model's RSS.
double measure_read_bandwidth() {
  const size_t bytes = size_t{1} << 30;
  const int64_t n = static_cast<int64_t>(bytes / sizeof(u64x4));
  std::vector<u64x4> buffer(static_cast<size_t>(n), u64x4{1, 1, 1, 1});
  double best = 0;
  for (int pass = 0; pass < 5; ++pass) {
    std::atomic<uint64_t> total{0};
    const auto start = std::chrono::steady_clock::now();
    core::cpu::parallel_for(n, 1 << 16, [&](int64_t b, int64_t e) {
      total += sum_words(buffer.data(), b, e);
    });
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (total.load() != 4 * static_cast<uint64_t>(n)) throw lamina::Error("read bandwidth: bad sum");
    best = std::max(best, static_cast<double>(bytes) / seconds / 1e9);
  }
  return best;
}

uint64_t current_rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * 4096;
}

// User + system CPU seconds of this process so far.
double cpu_seconds() {
  struct rusage u {};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

uint64_t weight_file_bytes(const std::string& dir) {
  uint64_t total = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".safetensors") total += entry.file_size();
  }
  return total;
}

std::vector<int32_t> random_prompt(int n, int64_t vocab, uint64_t seed) {
  std::vector<int32_t> ids(static_cast<size_t>(n));
  uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
  for (auto& id : ids) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    id = static_cast<int32_t>((s >> 33) % static_cast<uint64_t>(vocab));
  }
  return ids;
}

// CPU seconds of the calling thread: the host's own work (graph building, recording,
// submitting) and its waits for the GPU (a driver's fence wait may spin), not the thread
// pool's.
double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// The part of thread_cpu_seconds() spent waiting for a GPU (0 without the Vulkan backend).
double thread_wait_cpu_seconds() {
#ifdef LAMINA_HAS_VULKAN
  return core::vulkan::thread_wait_cpu_seconds();
#else
  return 0.0;
#endif
}

struct RunResult {
  double prompt_tps = 0, generation_tps = 0;
  // The main thread's CPU time per generated token (after the first), less its CPU time
  // waiting for the GPU (host_ms_per_token: graph building, recording, submitting, the
  // issue's "per-token CPU overhead"), and that waiting.
  double host_ms_per_token = 0, wait_cpu_ms_per_token = 0;
  // CPU seconds used over (wall seconds x threads): near 1 when the machine was not shared.
  double cpu_share = 0;
  uint64_t kv_bytes = 0;
};

// One prompt + generation on a fresh cache. generation_tps counts the forward steps after
// the prompt's (the first new token comes out of the prefill) over their time.
RunResult run_once(models::Model& model, const std::vector<int32_t>& prompt, int gen_tokens) {
  auto cache = model.make_cache();
  const double cpu_start = cpu_seconds();
  generate::GenerateOptions options;
  options.max_tokens = gen_tokens;
  options.ignore_eos = true;
  double host_start = 0, wait_start = 0;
  bool first = true;
  auto result = generate::generate(model, cache, prompt, options, [&](int32_t) {
    if (first) {
      host_start = thread_cpu_seconds();
      wait_start = thread_wait_cpu_seconds();
    }
    first = false;
    return true;
  });
  const double wait_seconds = thread_wait_cpu_seconds() - wait_start;
  const double host_seconds = thread_cpu_seconds() - host_start - wait_seconds;
  RunResult r;
  r.prompt_tps = result.prompt_tps;
  r.cpu_share = (cpu_seconds() - cpu_start) /
                ((result.prompt_seconds + result.generation_seconds) * core::cpu::num_threads());
  const double steps = static_cast<double>(result.tokens.size()) - 1.0;
  r.generation_tps = steps > 0 ? steps / std::max(result.generation_seconds, 1e-9) : 0.0;
  r.host_ms_per_token = steps > 0 ? 1e3 * host_seconds / steps : 0.0;
  r.wait_cpu_ms_per_token = steps > 0 ? 1e3 * wait_seconds / steps : 0.0;
  for (const auto& c : cache) {
    if (c.keys().valid()) r.kv_bytes += c.keys().nbytes() + c.values().nbytes();
  }
  return r;
}

int usage(const char* argv0) {
  std::cerr << "usage: " << argv0
            << " --model DIR [--threads N] [--prompt-tokens 512] [--gen-tokens 128] [--runs 1]"
               " [--warmup-tokens 8] [--seed 0] [--bandwidth GB/s] [--quantized-activations float32|int8]"
               " [--device cpu|vulkan|vulkan:N]"
               " [--json | --markdown]\n"
               "       "
            << argv0 << " --read-bandwidth [--threads N]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--json" || flag == "--markdown") {
      (flag == "--json" ? o.json : o.markdown) = true;
      continue;
    }
    if (flag == "--read-bandwidth") {
      o.read_bandwidth = true;
      continue;
    }
    if (i + 1 >= argc) return usage(argv[0]);
    const std::string value = argv[++i];
    if (flag == "--model") o.model = value;
    else if (flag == "--threads") o.threads = std::atoi(value.c_str());
    else if (flag == "--prompt-tokens") o.prompt_tokens = std::atoi(value.c_str());
    else if (flag == "--gen-tokens") o.gen_tokens = std::atoi(value.c_str());
    else if (flag == "--runs") o.runs = std::atoi(value.c_str());
    else if (flag == "--warmup-tokens") o.warmup_tokens = std::atoi(value.c_str());
    else if (flag == "--seed") o.seed = std::strtoull(value.c_str(), nullptr, 10);
    else if (flag == "--bandwidth") o.bandwidth_gbs = std::atof(value.c_str());
    else if (flag == "--quantized-activations") o.quantized_activations = value;
    else if (flag == "--device") o.device = value;
    else return usage(argv[0]);
  }
  if (o.read_bandwidth) {
    if (o.threads > 0) core::cpu::set_num_threads(o.threads);
    core::set_default_device(core::parse_device(o.device));
    std::printf("%.2f\n", measure_read_bandwidth());
    return 0;
  }
  if (o.model.empty() || o.prompt_tokens < 1 || o.gen_tokens < 2 || o.runs < 1) return usage(argv[0]);

  try {
    if (o.threads > 0) core::cpu::set_num_threads(o.threads);
    core::set_default_device(core::parse_device(o.device));
    const uint64_t rss_start = current_rss_bytes();
    const auto load_start = std::chrono::steady_clock::now();
    models::LoadOptions load;
    load.quantized_activations = o.quantized_activations.empty()
                                     ? core::preferred_quantized_activations()
                                     : core::parse_quantized_activations(o.quantized_activations);
    models::LoadedModel loaded = models::load_model(o.model, load);
    const double load_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
    models::Model& model = *loaded.model;
    const auto& args = model.args();
    const std::string dtype = loaded.config.value("torch_dtype", std::string("?"));

    // Warm-up: faults the mapped weights in and fills the allocator's caches.
    if (o.warmup_tokens > 0) {
      run_once(model, random_prompt(o.warmup_tokens, args.vocab_size, o.seed + 1000), 2);
    }
    const auto prompt = random_prompt(o.prompt_tokens, args.vocab_size, o.seed);
    std::vector<RunResult> runs;
    for (int r = 0; r < o.runs; ++r) runs.push_back(run_once(model, prompt, o.gen_tokens));

    RunResult best = runs.front();
    for (const auto& r : runs) {
      best.prompt_tps = std::max(best.prompt_tps, r.prompt_tps);
      best.generation_tps = std::max(best.generation_tps, r.generation_tps);
      if (r.host_ms_per_token < best.host_ms_per_token) {
        best.host_ms_per_token = r.host_ms_per_token;
        best.wait_cpu_ms_per_token = r.wait_cpu_ms_per_token;
      }
    }
    const uint64_t weights = weight_file_bytes(o.model);
    const uint64_t peak = generate::peak_rss_bytes();
    const double budget = static_cast<double>(weights + best.kv_bytes);
    nlohmann::json j;
    j["model"] = o.model;
    j["model_type"] = args.model_type;
    j["dtype"] = dtype;
    j["quantized_activations"] = core::quantized_activations_name(load.quantized_activations);
    j["threads"] = core::cpu::num_threads();
    j["prompt_tokens"] = o.prompt_tokens;
    j["generation_tokens"] = o.gen_tokens;
    j["load_seconds"] = load_seconds;
    j["prompt_tps"] = best.prompt_tps;
    j["generation_tps"] = best.generation_tps;
    j["host_ms_per_token"] = best.host_ms_per_token;
    j["wait_cpu_ms_per_token"] = best.wait_cpu_ms_per_token;
    j["device"] = core::default_device().str();
    j["prompt_tps_runs"] = nlohmann::json::array();
    j["generation_tps_runs"] = nlohmann::json::array();
    j["cpu_share_runs"] = nlohmann::json::array();
    for (const auto& r : runs) {
      j["cpu_share_runs"].push_back(r.cpu_share);
      j["prompt_tps_runs"].push_back(r.prompt_tps);
      j["generation_tps_runs"].push_back(r.generation_tps);
    }
    j["weights_bytes"] = weights;
    j["kv_cache_bytes"] = best.kv_bytes;
    j["rss_at_start_bytes"] = rss_start;
    j["peak_rss_bytes"] = peak;
    j["peak_rss_over_weights_plus_kv"] = static_cast<double>(peak) / budget;
    // Decode reads every weight once per token: bandwidth / weight bytes bounds tokens/s.
    const double bound_tps = o.bandwidth_gbs * 1e9 / static_cast<double>(weights);
    if (o.bandwidth_gbs > 0) {
      j["read_bandwidth_gbs"] = o.bandwidth_gbs;
      j["generation_bound_tps"] = bound_tps;
    }
    if (o.json) {
      std::cout << j.dump() << "\n";
    } else if (o.markdown) {
      std::printf("| %s | %s | %d | %.1f | %.2f | %.1f (%.0f%%) | %.0f | %.3f | %.2f |\n",
                  fs::path(o.model).filename().c_str(), dtype.c_str(), core::cpu::num_threads(),
                  best.prompt_tps, best.generation_tps, bound_tps,
                  bound_tps > 0 ? 100.0 * best.generation_tps / bound_tps : 0.0, peak / 1e6,
                  static_cast<double>(peak) / budget, runs.back().cpu_share);
    } else {
      std::printf("%s %s %s-activations %s threads=%d: prefill %.1f tok/s (%d tokens), generation %.2f tok/s"
                  " (%d tokens, host %.2f ms/token + %.2f waiting), peak RSS %.0f MB = %.3f x (weights %.0f MB + KV %.1f MB), load %.2f s, cpu share %.2f\n",
                  args.model_type.c_str(), dtype.c_str(),
                  core::quantized_activations_name(load.quantized_activations), core::default_device().str().c_str(),
                  core::cpu::num_threads(), best.prompt_tps, o.prompt_tokens, best.generation_tps, o.gen_tokens,
                  best.host_ms_per_token, best.wait_cpu_ms_per_token, peak / 1e6,
                  static_cast<double>(peak) / budget, weights / 1e6, best.kv_bytes / 1e6,
                  load_seconds, runs.back().cpu_share);
    }
  } catch (const std::exception& e) {
    std::cerr << "e2e_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
