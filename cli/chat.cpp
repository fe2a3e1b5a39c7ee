// `lamina chat`: an interactive multi-turn conversation (mlx_lm.chat). The KV cache stays
// between turns: each turn only runs the tokens the conversation gained since the last.
#include <unistd.h>

#include <iostream>
#include <memory>

#include "cli/command.h"
#include "cli/generation_report.h"
#include "cli/interrupt.h"
#include "cli/model_session.h"
#include "libcore/error.h"
#include "libcore/generate/prefix_cache.h"
#include "libcore/tokenizer/streaming_detokenizer.h"

namespace lamina::cli {
namespace {

struct ChatFlags {
  ModelFlags model;
  SamplingFlags sampling;
  bool verbose = false;
};

int run_chat(ChatFlags& f) {
  ModelSession session = open_model(f.model);
  if (!session.chat_template) {
    throw Error(f.model.model + ": the model has no chat template (chat needs one; use `lamina generate`)");
  }
  const bool tty = isatty(STDIN_FILENO) && isatty(STDERR_FILENO);
  generate::PrefixCache cache(*session.loaded.model, f.model.max_kv_size);
  auto options = session.generate_options(f.sampling);
  auto fresh = [&]() {
    auto messages = nlohmann::ordered_json::array();
    if (!f.model.system_prompt.empty()) messages.push_back({{"role", "system"}, {"content", f.model.system_prompt}});
    return messages;
  };
  auto messages = fresh();
  if (tty) std::cerr << "[lamina chat: type a message; /reset starts over, /quit or Ctrl-D ends]\n";
  std::string line;
  while (true) {
    if (tty) std::cerr << ">> " << std::flush;
    if (!std::getline(std::cin, line)) break;
    if (line == "/quit" || line == "/exit") break;
    if (line == "/reset") {
      messages = fresh();
      cache.reset();
      if (tty) std::cerr << "[conversation reset]\n";
      continue;
    }
    if (line.empty()) continue;
    session.check_prompt_bytes(line.size());  // a huge line is refused before tokenizing it
    messages.push_back({{"role", "user"}, {"content", line}});
    std::vector<int32_t> ids = session.encode_messages(messages);
    session.check_context(ids.size());
    std::vector<int32_t> rest = cache.reuse(ids);
    tokenizer::StreamingDetokenizer detok(session.tokenizer, true);
    std::string reply;
    watch_interrupts();
    auto on_token = [&](int32_t token) {
      std::string piece = detok.add(token);
      reply += piece;
      std::cout << piece << std::flush;
      return !interrupted();
    };
    std::vector<int32_t> history(ids.begin(), ids.end() - static_cast<std::ptrdiff_t>(rest.size()));
    auto result = generate::generate(*session.loaded.model, cache.layers(), rest, options, on_token, history);
    std::string tail = detok.finalize();
    reply += tail;
    std::cout << tail << "\n" << std::flush;
    cache.record(rest, result);
    messages.push_back({{"role", "assistant"}, {"content", reply}});
    if (f.verbose) {
      print_generation_stats(result, static_cast<int64_t>(rest.size()));
      std::cerr << "(reused " << ids.size() - rest.size() << " of " << ids.size() << " prompt tokens)\n";
    }
  }
  return 0;
}

CommandRunner setup_chat(CLI::App& app) {
  auto f = std::make_shared<ChatFlags>();
  add_model_flags(app, f->model);
  add_sampling_flags(app, f->sampling, 256);
  app.add_flag("--verbose,-v", f->verbose, "Print stats after every reply");
  return [f]() { return run_chat(*f); };
}

}  // namespace
LAMINA_COMMAND(chat, "Chat with a model interactively (multi-turn, KV cache kept between turns)", setup_chat);
}  // namespace lamina::cli
