// jsonl training data: text, completions and chat examples.
#include "lora/dataset.h"

#include <fstream>

#include "libcore/error.h"
#include "libcore/tokenizer/chat_template.h"

namespace lamina::lora {

namespace {

using Json = nlohmann::ordered_json;

std::vector<int32_t> render(const TextEncoder& e, const Json& messages, bool add_generation_prompt,
                            const Json* tools) {
  Json context = e.special_tokens;
  if (tools) context["tools"] = *tools;
  std::string text = tokenizer::apply_chat_template(*e.chat_template, messages, add_generation_prompt, context);
  // The template writes the special tokens itself.
  return e.tokenizer->encode(text, false);
}

const std::string& string_field(const Json& o, const char* key) {
  const auto& v = o.at(key);
  if (!v.is_string()) throw Error(std::string("field '") + key + "' must be a string");
  return v.get_ref<const std::string&>();
}

void add_eos(const TextEncoder& e, std::vector<int32_t>& tokens) {
  auto eos = e.tokenizer->eos_id();
  if (e.append_eos && eos && (tokens.empty() || tokens.back() != *eos)) tokens.push_back(*eos);
}

}  // namespace

Example encode_example(const Json& o, const TextEncoder& e) {
  if (!o.is_object()) throw Error("expected a JSON object");
  Example ex;
  if (o.contains("messages")) {
    const Json& messages = o["messages"];
    if (!messages.is_array() || messages.empty()) throw Error("field 'messages' must be a non-empty list");
    for (const auto& m : messages) {
      if (!m.is_object() || !m.contains("role") || !m.contains("content")) {
        throw Error("every message needs 'role' and 'content'");
      }
    }
    if (!e.chat_template) throw Error("chat examples need a model with a chat template");
    const Json* tools = o.contains("tools") ? &o["tools"] : nullptr;
    ex.tokens = render(e, messages, false, tools);
    if (e.mask_prompt) {
      Json head = Json::array();
      for (size_t i = 0; i + 1 < messages.size(); ++i) head.push_back(messages[i]);
      ex.offset = static_cast<int64_t>(render(e, head, true, tools).size());
    }
  } else if (o.contains("prompt") || o.contains("completion")) {
    if (!o.contains("prompt") || !o.contains("completion")) {
      throw Error("a completion example needs both 'prompt' and 'completion'");
    }
    const std::string& prompt = string_field(o, "prompt");
    const std::string& completion = string_field(o, "completion");
    if (e.chat_template) {
      Json user = Json::array({Json{{"role", "user"}, {"content", prompt}}});
      Json both = user;
      both.push_back(Json{{"role", "assistant"}, {"content", completion}});
      ex.tokens = render(e, both, false, nullptr);
      if (e.mask_prompt) ex.offset = static_cast<int64_t>(render(e, user, true, nullptr).size());
    } else {
      ex.tokens = e.tokenizer->encode(prompt, true);
      ex.offset = e.mask_prompt ? static_cast<int64_t>(ex.tokens.size()) : 0;
      auto rest = e.tokenizer->encode(completion, false);
      ex.tokens.insert(ex.tokens.end(), rest.begin(), rest.end());
      add_eos(e, ex.tokens);
    }
  } else if (o.contains("text")) {
    if (e.mask_prompt) throw Error("--mask-prompt needs prompt/completion or chat examples, not 'text'");
    ex.tokens = e.tokenizer->encode(string_field(o, "text"), true);
    add_eos(e, ex.tokens);
  } else {
    throw Error("expected a 'text', 'prompt'/'completion' or 'messages' field");
  }
  if (ex.tokens.size() < 2) throw Error("the example has fewer than 2 tokens (nothing to predict)");
  return ex;
}

namespace {

// Reads the next line (without its '\n') into `line`; false at the end of the file. A line
// longer than kMaxJsonlLineBytes throws before more of it is read.
bool read_bounded_line(std::istream& in, std::string& line, const std::string& where) {
  line.clear();
  std::streambuf* buffer = in.rdbuf();
  for (int c = buffer->sbumpc(); c != '\n'; c = buffer->sbumpc()) {
    if (c == std::char_traits<char>::eof()) return !line.empty();
    if (line.size() == kMaxJsonlLineBytes) {
      throw Error(where + ": the line is longer than " + std::to_string(kMaxJsonlLineBytes) +
                  " bytes, the limit for one example");
    }
    line.push_back(static_cast<char>(c));
  }
  return true;
}

}  // namespace

std::vector<Example> load_jsonl(const std::string& path, const TextEncoder& encoder) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot open");
  std::vector<Example> out;
  std::string line;
  int64_t number = 0;
  while (read_bounded_line(f, line, path + ":" + std::to_string(number + 1))) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(number);
    Json object;
    try {
      object = Json::parse(line);
    } catch (const nlohmann::json::exception& ex) {
      throw Error(where + ": not valid JSON (" + std::string(ex.what()) + ")");
    }
    try {
      out.push_back(encode_example(object, encoder));
    } catch (const Error& ex) {
      throw Error(where + ": " + ex.what());
    } catch (const nlohmann::json::exception& ex) {
      throw Error(where + ": " + std::string(ex.what()));
    }
  }
  if (out.empty()) throw Error(path + ": no examples");
  return out;
}

}  // namespace lamina::lora
