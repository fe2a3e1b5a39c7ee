// Chat template loading and rendering (see chat_template.h).
#include "libcore/tokenizer/chat_template.h"

#include <filesystem>

#include "libcore/error.h"
#include "libcore/io/text_file.h"
#include "libcore/tokenizer/jinja_template.h"

namespace lamina::tokenizer {
namespace {

constexpr const char* kTemplateFile = "chat_template.jinja";
constexpr const char* kTokenizerConfigFile = "tokenizer_config.json";
constexpr const char* kTemplateJsonFile = "chat_template.json";
constexpr const char* kSpecialTokenKeys[] = {"bos_token", "eos_token", "unk_token", "sep_token",
                                             "pad_token", "cls_token", "mask_token"};

std::string read_file(const std::filesystem::path& path) {
  return io::read_text_file(path.string());
}

nlohmann::ordered_json read_json(const std::filesystem::path& path) {
  try {
    return nlohmann::ordered_json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string() + ": invalid JSON: " + e.what());
  }
}

// "chat_template" of a config: a string, or a list of {"name", "template"}.
std::optional<std::string> pick_template(const nlohmann::ordered_json& value,
                                         const std::string& name,
                                         const std::filesystem::path& path) {
  if (value.is_null()) return std::nullopt;
  if (value.is_string()) return value.get<std::string>();
  if (!value.is_array())
    throw Error(path.string() + ": \"chat_template\" must be a string or a list");
  std::string names;
  for (const auto& entry : value) {
    if (!entry.is_object() || !entry.contains("name") || !entry.contains("template") ||
        !entry["name"].is_string() || !entry["template"].is_string())
      throw Error(path.string() +
                  ": \"chat_template\" list entries must be {\"name\", \"template\"} strings");
    if (entry["name"].get<std::string>() == name) return entry["template"].get<std::string>();
    names += (names.empty() ? "" : ", ") + entry["name"].get<std::string>();
  }
  throw Error(path.string() + ": no chat template named '" + name + "' (has: " + names + ")");
}

}  // namespace

std::string apply_chat_template(const std::string& template_source, const nlohmann::json& messages,
                                bool add_generation_prompt, const nlohmann::json& extra_context) {
  return apply_chat_template(template_source, nlohmann::ordered_json(messages),
                             add_generation_prompt, nlohmann::ordered_json(extra_context));
}

std::string apply_chat_template(const std::string& template_source,
                                const nlohmann::ordered_json& messages, bool add_generation_prompt,
                                const nlohmann::ordered_json& extra_context,
                                const jinja::RenderOptions& options) {
  if (!messages.is_array()) throw Error("apply_chat_template: messages must be a JSON list");
  if (!extra_context.is_null() && !extra_context.is_object())
    throw Error("apply_chat_template: the extra context must be a JSON object");
  nlohmann::ordered_json context = nlohmann::ordered_json::object();
  context["messages"] = messages;
  context["tools"] = nullptr;
  context["documents"] = nullptr;
  context["add_generation_prompt"] = add_generation_prompt;
  if (extra_context.is_object())
    for (auto it = extra_context.begin(); it != extra_context.end(); ++it)
      context[it.key()] = it.value();
  return jinja::Template(template_source).render(context, options);
}

std::optional<std::string> load_chat_template(const std::string& model_dir,
                                              const std::string& name, std::string* source_file) {
  std::filesystem::path dir(model_dir);
  auto found_in = [&](const std::filesystem::path& file) {
    if (source_file != nullptr) *source_file = file.string();
  };
  if (std::filesystem::exists(dir / kTemplateFile)) {
    found_in(dir / kTemplateFile);
    return read_file(dir / kTemplateFile);
  }
  if (std::filesystem::exists(dir / kTokenizerConfigFile)) {
    auto config = read_json(dir / kTokenizerConfigFile);
    if (config.is_object() && config.contains("chat_template"))
      if (auto found = pick_template(config["chat_template"], name, dir / kTokenizerConfigFile)) {
        found_in(dir / kTokenizerConfigFile);
        return found;
      }
  }
  if (std::filesystem::exists(dir / kTemplateJsonFile)) {
    auto config = read_json(dir / kTemplateJsonFile);
    if (config.is_object() && config.contains("chat_template")) {
      found_in(dir / kTemplateJsonFile);
      return pick_template(config["chat_template"], name, dir / kTemplateJsonFile);
    }
  }
  return std::nullopt;
}

nlohmann::ordered_json load_special_tokens(const std::string& model_dir) {
  nlohmann::ordered_json tokens = nlohmann::ordered_json::object();
  std::filesystem::path path = std::filesystem::path(model_dir) / kTokenizerConfigFile;
  if (!std::filesystem::exists(path)) return tokens;
  auto config = read_json(path);
  if (!config.is_object()) throw Error(path.string() + ": expected a JSON object");
  for (const char* key : kSpecialTokenKeys) {
    if (!config.contains(key)) continue;
    const auto& token = config[key];
    if (token.is_string()) {
      tokens[key] = token;
    } else if (token.is_object() && token.contains("content") && token["content"].is_string()) {
      tokens[key] = token["content"];
    } else if (!token.is_null()) {
      throw Error(path.string() + ": \"" + key +
                  "\" must be a string or an {\"content\": ...} object");
    }
  }
  return tokens;
}

}  // namespace lamina::tokenizer
