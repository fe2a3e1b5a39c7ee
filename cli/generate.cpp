// `lamina generate`: text generation from a prompt, streamed to stdout (mlx_lm.generate).
#include <iostream>
#include <memory>

#include "cli/command.h"
#include "cli/generation_report.h"
#include "cli/interrupt.h"
#include "cli/model_session.h"
#include "libcore/error.h"
#include "libcore/generate/prefix_cache.h"
#include "libcore/generate/prompt_cache.h"
#include "libcore/tokenizer/streaming_detokenizer.h"

namespace lamina::cli {
namespace {

struct GenerateFlags {
  ModelFlags model;
  SamplingFlags sampling;
  std::string prompt = "hello";
  std::string prompt_cache_file;
  bool verbose = false, quiet = false, json = false;
};

// Continues from a saved prompt cache: the cached text comes before the prompt.
std::string load_cached_prefix(const ModelSession& session, const std::string& path,
                               generate::PrefixCache& cache, ModelFlags& flags) {
  auto file = generate::load_prompt_cache(path);
  if (file.model != session.cache_identity()) {
    throw Error(path + ": the prompt cache was made for another model or dtype (" + file.model + "), not for " +
                flags.model + " (" + session.cache_identity() + ")");
  }
  if (static_cast<int>(file.layers.size()) != session.loaded.model->num_layers()) {
    throw Error(path + ": the prompt cache has " + std::to_string(file.layers.size()) + " layers, the model " +
                std::to_string(session.loaded.model->num_layers()));
  }
  cache.assign(std::move(file.layers), std::move(file.tokens));
  return file.metadata.value("prompt", "");
}

int run_generate(GenerateFlags& f) {
  if (f.model.max_kv_size > 0 && !f.prompt_cache_file.empty())
    throw Error("--max-kv-size cannot be combined with --prompt-cache-file");
  f.model.quiet = f.quiet || f.json;
  ModelSession session = open_model(f.model);
  generate::PrefixCache cache(*session.loaded.model, f.model.max_kv_size);
  std::string prompt = read_prompt_argument(f.prompt);
  if (!f.prompt_cache_file.empty()) {
    prompt = load_cached_prefix(session, f.prompt_cache_file, cache, f.model) + prompt;
  }
  std::vector<int32_t> ids = session.encode_prompt(prompt);
  session.check_context(ids.size());
  std::vector<int32_t> rest = cache.reuse(ids);
  int64_t reused = static_cast<int64_t>(ids.size() - rest.size());
  if (f.verbose) {
    std::cerr << "prompt: " << ids.size() << " tokens";
    if (reused > 0) std::cerr << " (" << reused << " from the prompt cache)";
    std::cerr << "\n";
  }

  auto options = session.generate_options(f.sampling);
  tokenizer::StreamingDetokenizer detok(session.tokenizer, true);
  std::string text;
  watch_interrupts();
  auto on_token = [&](int32_t token) {
    std::string piece = detok.add(token);
    text += piece;
    if (!f.json && !piece.empty()) std::cout << piece << std::flush;
    return !interrupted();
  };
  std::vector<int32_t> history(ids.begin(), ids.begin() + reused);
  auto result = generate::generate(*session.loaded.model, cache.layers(), rest, options, on_token, history);
  cache.record(rest, result);
  std::string tail = detok.finalize();
  text += tail;
  if (f.json) {
    std::cout << generation_json(result, ids, text, reused).dump() << "\n";
  } else {
    std::cout << tail << "\n" << std::flush;
    if (!f.quiet) print_generation_stats(result, static_cast<int64_t>(rest.size()));
  }
  return result.finish_reason == "interrupted" ? interrupted_exit_status() : 0;
}

CommandRunner setup_generate(CLI::App& app) {
  auto f = std::make_shared<GenerateFlags>();
  add_model_flags(app, f->model);
  add_sampling_flags(app, f->sampling, 100);
  app.add_option("--prompt,-p", f->prompt, "Prompt text, or - to read it from stdin (default: hello)");
  app.add_option("--prompt-cache-file", f->prompt_cache_file,
                 "Continue from a prompt cache made by `lamina cache-prompt` (its text comes before --prompt)");
  app.add_flag("--verbose,-v", f->verbose, "Also log the prompt size and cache use");
  app.add_flag("--quiet,-q", f->quiet, "Print only the generated text (no stats)");
  app.add_flag("--json", f->json, "Print one JSON object with ids, text and stats instead of streaming");
  return [f]() { return run_generate(*f); };
}

}  // namespace
LAMINA_COMMAND(generate, "Generate text from a prompt", setup_generate);
}  // namespace lamina::cli
