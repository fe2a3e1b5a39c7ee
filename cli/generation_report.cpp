// Generation stats and --json output.
#include "cli/generation_report.h"

#include <cstdio>

namespace lamina::cli {

void print_generation_stats(const generate::GenerateResult& r, int64_t prompt_tokens) {
  std::fprintf(stderr, "==========\n");
  std::fprintf(stderr, "Prompt: %lld tokens, %.3f tokens-per-sec\n", static_cast<long long>(prompt_tokens),
               r.prompt_tps);
  std::fprintf(stderr, "Generation: %zu tokens, %.3f tokens-per-sec\n", r.tokens.size(), r.generation_tps);
  std::fprintf(stderr, "Peak memory: %.3f GB\n", static_cast<double>(generate::peak_rss_bytes()) / 1e9);
}

nlohmann::json generation_json(const generate::GenerateResult& r, const std::vector<int32_t>& prompt_ids,
                               const std::string& text, int64_t cached_prompt_tokens) {
  return {{"prompt_tokens", prompt_ids},
          {"tokens", r.tokens},
          {"text", text},
          {"finish_reason", r.finish_reason},
          {"prompt_tps", r.prompt_tps},
          {"generation_tps", r.generation_tps},
          {"prompt_seconds", r.prompt_seconds},
          {"generation_seconds", r.generation_seconds},
          {"cached_prompt_tokens", cached_prompt_tokens},
          {"peak_memory_bytes", generate::peak_rss_bytes()}};
}

}  // namespace lamina::cli
