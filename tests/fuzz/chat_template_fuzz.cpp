// Fuzzes the Jinja chat-template engine: the input (split at the first NUL) is a template
// and a JSON list of messages; rendering must end in bounded time and memory, with output
// or a lamina::Error.
#include <cstdint>
#include <nlohmann/json.hpp>

#include "libcore/error.h"
#include "libcore/tokenizer/chat_template.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parts = lamina::fuzz::split_input(data, size, std::string_view("\0", 1), 2);
  auto messages = nlohmann::ordered_json::parse(parts[1], nullptr, false);
  if (messages.is_discarded()) {
    messages = nlohmann::ordered_json::array({{{"role", "system"}, {"content", "Be brief."}},
                                              {{"role", "user"}, {"content", parts[1]}}});
  }
  nlohmann::ordered_json extra = {{"bos_token", "<s>"}, {"eos_token", "</s>"}};
  try {
    lamina::tokenizer::apply_chat_template(parts[0], messages, true, extra);
  } catch (const lamina::Error&) {
  }
  return 0;
}
