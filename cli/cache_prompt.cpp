// `lamina cache-prompt`: evaluates a prompt prefix once and saves its KV cache
// (mlx_lm.cache_prompt), for `generate --prompt-cache-file` to continue from.
#include <iostream>
#include <memory>

#include "cli/command.h"
#include "cli/model_session.h"
#include "libcore/generate/generator.h"
#include "libcore/generate/prompt_cache.h"
#include "libcore/transforms/eval.h"

namespace lamina::cli {
namespace {

struct CachePromptFlags {
  ModelFlags model;
  std::string prompt, prompt_cache_file;
  bool json = false;
};

int run_cache_prompt(CachePromptFlags& f) {
  ModelSession session = open_model(f.model);
  std::string prompt = read_prompt_argument(f.prompt);
  // The cached prefix is the start of a later prompt's user message: tokenize it the way
  // generate will, and keep only the ids that a longer prompt shares (the chat template's
  // closing tokens after the text are dropped by the prefix match at generate time).
  std::vector<int32_t> ids = session.encode_prompt(prompt);
  session.check_context(ids.size());
  auto cache = session.loaded.model->make_cache();
  SamplingFlags prefill_only;
  prefill_only.max_tokens = 0;
  auto result = generate::generate(*session.loaded.model, cache, ids, session.generate_options(prefill_only),
                                   [](int32_t) { return true; });
  nlohmann::json metadata = {{"prompt", prompt}, {"system_prompt", f.model.system_prompt}};
  generate::save_prompt_cache(f.prompt_cache_file, session.cache_identity(), ids, cache, metadata);
  if (f.json) {
    std::cout << nlohmann::json{{"prompt_cache_file", f.prompt_cache_file},
                                {"prompt_tokens", ids.size()},
                                {"prompt_tps", result.prompt_tps},
                                {"peak_memory_bytes", generate::peak_rss_bytes()}}
                     .dump()
              << "\n";
  } else {
    std::cerr << "cached " << ids.size() << " prompt tokens (" << result.prompt_tps << " tokens-per-sec) in "
              << f.prompt_cache_file << "\n";
  }
  return 0;
}

CommandRunner setup_cache_prompt(CLI::App& app) {
  auto f = std::make_shared<CachePromptFlags>();
  add_model_flags(app, f->model, false);
  app.add_option("--prompt,-p", f->prompt, "The prefix to cache, or - to read it from stdin")->required();
  app.add_option("--prompt-cache-file", f->prompt_cache_file, "Where to write the cache")->required();
  app.add_flag("--json", f->json, "Print a JSON summary on stdout");
  return [f]() { return run_cache_prompt(*f); };
}

}  // namespace
LAMINA_COMMAND_NAMED(cache_prompt, "cache-prompt", "Evaluate a prompt prefix once and save its KV cache", setup_cache_prompt);
}  // namespace lamina::cli
