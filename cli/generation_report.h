// How generate and chat report a finished generation: mlx_lm-style stats on stderr, or
// one JSON object on stdout.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "libcore/generate/generator.h"

namespace lamina::cli {

// "Prompt: N tokens, X tokens-per-sec" / "Generation: ..." / "Peak memory: ..." on stderr.
void print_generation_stats(const generate::GenerateResult& result, int64_t prompt_tokens);
// The --json result object.
nlohmann::json generation_json(const generate::GenerateResult& result,
                               const std::vector<int32_t>& prompt_ids, const std::string& text,
                               int64_t cached_prompt_tokens);

}  // namespace lamina::cli
