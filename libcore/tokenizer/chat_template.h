// Chat templates: find a model's template and render a conversation with it, as
// transformers' tokenizer.apply_chat_template(..., tokenize=False) does.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "libcore/tokenizer/jinja_interpreter.h"

namespace lamina::tokenizer {

// Renders `messages` (a list of {"role", "content", ...}) with the template. The context
// holds messages, add_generation_prompt, tools = none and documents = none, then every
// member of `extra_context` (bos_token, eos_token, tools, enable_thinking, ...), which
// overrides those. Throws lamina::Error on template syntax errors, on raise_exception()
// (carrying the template's message) and when a render limit is exceeded.
std::string apply_chat_template(const std::string& template_source, const nlohmann::json& messages,
                                bool add_generation_prompt,
                                const nlohmann::json& extra_context = nlohmann::json::object());
// Same with insertion-ordered JSON, so that `tools | tojson` keeps the caller's key order.
std::string apply_chat_template(
    const std::string& template_source, const nlohmann::ordered_json& messages,
    bool add_generation_prompt,
    const nlohmann::ordered_json& extra_context = nlohmann::ordered_json::object(),
    const jinja::RenderOptions& options = {});

// The chat template of a model directory: chat_template.jinja, else tokenizer_config.json's
// "chat_template" (a string, or a list of {"name", "template"} from which `name` is taken),
// else chat_template.json's "chat_template"; nullopt when the model has none. Throws
// lamina::Error on unreadable or malformed files, or when `name` is not among several.
// `source_file`, when given, receives the path of the file the template came from.
std::optional<std::string> load_chat_template(const std::string& model_dir,
                                              const std::string& name = "default",
                                              std::string* source_file = nullptr);

// The special tokens of tokenizer_config.json (bos_token, eos_token, unk_token, pad_token,
// ...) as template variables; each may be a string or an {"content": ...} object there.
nlohmann::ordered_json load_special_tokens(const std::string& model_dir);

}  // namespace lamina::tokenizer
