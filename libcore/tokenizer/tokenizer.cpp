// Tokenizer loading and the encode / decode pipelines (see tokenizer.h). Encoding follows
// HF tokenizers: added tokens that are not normalized are cut out of the raw text, the rest
// is normalized, normalized added tokens are cut out, pre-tokenized, and each word is
// encoded by the model; the post-processor then adds special tokens.
#include "libcore/tokenizer/tokenizer.h"

#include <algorithm>
#include <filesystem>
#include <unordered_map>
#include <unordered_set>

#include "libcore/error.h"
#include "libcore/io/text_file.h"
#include "libcore/tokenizer/bpe_model.h"
#include "libcore/tokenizer/decoder.h"
#include "libcore/tokenizer/normalizer.h"
#include "libcore/tokenizer/post_processor.h"
#include "libcore/tokenizer/pre_tokenizer.h"
#include "libcore/tokenizer/unicode.h"

namespace lamina::tokenizer {

struct Tokenizer::Impl {
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> pre_tokenizer;
  std::unique_ptr<BpeModel> model;
  std::unique_ptr<PostProcessor> post_processor;
  std::unique_ptr<Decoder> decoder;

  std::vector<AddedToken> added_tokens;
  AddedTokenMatcher raw_matcher;         // added tokens with normalized = false
  AddedTokenMatcher normalized_matcher;  // added tokens with normalized = true
  std::unordered_map<int32_t, std::string> added_id_to_token;
  TokenMap added_token_to_id;
  std::unordered_set<int32_t> special_ids;

  nlohmann::json config = nlohmann::json::object();
  std::string bos_token;
  std::string eos_token;
  std::optional<int32_t> bos_id;
  std::optional<int32_t> eos_id;
  std::optional<int32_t> unk_id;
  std::optional<int32_t> pad_id;
  // Legacy (tokenizer_config add_bos_token / add_eos_token) when the post-processor does not.
  bool legacy_add_bos = false;
  bool legacy_add_eos = false;

  std::optional<int32_t> token_to_id(std::string_view token) const {
    const auto it = added_token_to_id.find(token);
    if (it != added_token_to_id.end()) return it->second;
    return model->token_to_id(token);
  }
  const std::string* id_to_token(int32_t id) const {
    const auto it = added_id_to_token.find(id);
    if (it != added_id_to_token.end()) return &it->second;
    return model->id_to_token(id);
  }
};

namespace {

std::string read_file(const std::filesystem::path& path) {
  return io::read_text_file(path.string());
}

nlohmann::json parse_json(const std::string& text, const std::string& name) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(name + ": invalid JSON: " + e.what());
  }
}

// A special token named in tokenizer_config.json: a string, or an AddedToken object.
std::string config_token(const nlohmann::json& config, const char* key, const std::string& where) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) return require_string(*it, "content", where + ": " + key);
  fail(where, std::string("'") + key + "' must be a string or an object with 'content'");
}

std::unique_ptr<BpeModel> make_model(const Json& json, const std::string& where) {
  if (!json.is_object()) fail(where, "'model' must be an object");
  std::string type = optional_string(json, "type", "", where);
  if (type.empty() && json.contains("merges")) type = "BPE";  // untagged models in old files
  if (type != "BPE") fail(where, "model type '" + type + "' is not supported (only BPE is)");
  return std::make_unique<BpeModel>(json, where);
}

}  // namespace

Tokenizer Tokenizer::load(const std::string& dir_or_file) {
  std::filesystem::path path(dir_or_file);
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) path /= "tokenizer.json";
  if (!std::filesystem::exists(path, ec)) throw Error(path.string() + ": no such file");
  const std::string json_text = read_file(path);
  const auto config_path = path.parent_path() / "tokenizer_config.json";
  std::string config_text;
  if (std::filesystem::exists(config_path, ec)) config_text = read_file(config_path);
  try {
    return from_json_text(json_text, config_text, path.string());
  } catch (const Error& e) {
    // Config errors are reported under the config's own name.
    const std::string message = e.what();
    if (message.rfind("tokenizer_config.json", 0) == 0) {
      throw Error(config_path.string() +
                  message.substr(std::string("tokenizer_config.json").size()));
    }
    throw;
  }
}

Tokenizer Tokenizer::from_json_text(const std::string& tokenizer_json,
                                    const std::string& config_json, const std::string& name) {
  const nlohmann::json root = parse_json(tokenizer_json, name);
  auto impl = std::make_shared<Impl>();
  try {
    if (!root.is_object()) fail(name, "expected a JSON object at the top level");
    impl->model = make_model(require_field(root, "model", name), name + ": model");
    auto component = [&](const char* key) -> const Json& {
      static const Json null_json;
      const auto it = root.find(key);
      return it == root.end() ? null_json : *it;
    };
    impl->normalizer = make_normalizer(component("normalizer"), name + ": normalizer");
    impl->pre_tokenizer = make_pre_tokenizer(component("pre_tokenizer"), name + ": pre_tokenizer");
    impl->post_processor =
        make_post_processor(component("post_processor"), name + ": post_processor");
    impl->decoder = make_decoder(component("decoder"), name + ": decoder");
    impl->added_tokens = parse_added_tokens(component("added_tokens"), name);
  } catch (const nlohmann::json::exception& e) {
    throw Error(name + ": " + e.what());
  }

  std::vector<AddedToken> raw;
  std::vector<AddedToken> normalized;
  for (const auto& token : impl->added_tokens) {
    (token.normalized ? normalized : raw).push_back(token);
    impl->added_id_to_token[token.id] = token.content;
    impl->added_token_to_id[token.content] = token.id;
    if (token.special) {
      impl->special_ids.insert(token.id);
    } else {
      impl->special_ids.erase(token.id);
    }
  }
  impl->raw_matcher = AddedTokenMatcher(raw);
  impl->normalized_matcher = AddedTokenMatcher(normalized);

  const std::string config_name = "tokenizer_config.json";
  if (!config_json.empty()) {
    impl->config = parse_json(config_json, config_name);
    if (!impl->config.is_object()) fail(config_name, "expected a JSON object at the top level");
  }
  const auto& config = impl->config;
  impl->bos_token = config_token(config, "bos_token", config_name);
  impl->eos_token = config_token(config, "eos_token", config_name);
  const std::string unk_token = config_token(config, "unk_token", config_name);
  const std::string pad_token = config_token(config, "pad_token", config_name);
  auto lookup = [&](const std::string& token) -> std::optional<int32_t> {
    if (token.empty()) return std::nullopt;
    return impl->token_to_id(token);
  };
  impl->bos_id = lookup(impl->bos_token);
  impl->eos_id = lookup(impl->eos_token);
  impl->unk_id = lookup(unk_token);
  impl->pad_id = lookup(pad_token);

  // Legacy Llama-style configs ask for BOS/EOS in tokenizer_config.json; add them only where
  // the post-processor does not already (a sentinel shows what it puts around a sequence).
  std::vector<int32_t> probe = {-1};
  if (impl->post_processor) impl->post_processor->process(probe);
  const bool template_adds_bos = impl->bos_id && probe.front() == *impl->bos_id;
  const bool template_adds_eos = impl->eos_id && probe.back() == *impl->eos_id;
  impl->legacy_add_bos = impl->bos_id && !template_adds_bos &&
                         optional_bool(config, "add_bos_token", false, config_name);
  impl->legacy_add_eos = impl->eos_id && !template_adds_eos &&
                         optional_bool(config, "add_eos_token", false, config_name);
  return Tokenizer(std::move(impl));
}

std::vector<int32_t> Tokenizer::encode(std::string_view input, bool add_special_tokens) const {
  const Impl& impl = *impl_;
  const std::string text = is_valid_utf8(input) ? std::string(input) : utf8_lossy(input);
  std::vector<int32_t> ids;
  std::vector<Piece> pieces;
  for (const Segment& raw : impl.raw_matcher.split(text)) {
    if (raw.id >= 0) {
      ids.push_back(raw.id);
      continue;
    }
    std::string normalized = text.substr(raw.begin, raw.end - raw.begin);
    if (impl.normalizer) impl.normalizer->normalize(normalized);
    for (const Segment& segment : impl.normalized_matcher.split(normalized)) {
      if (segment.id >= 0) {
        ids.push_back(segment.id);
        continue;
      }
      pieces.clear();
      pieces.push_back({normalized.substr(segment.begin, segment.end - segment.begin),
                        raw.begin == 0 && segment.begin == 0});
      if (impl.pre_tokenizer) impl.pre_tokenizer->pre_tokenize(pieces);
      for (const Piece& piece : pieces) impl.model->tokenize(piece.text, ids);
    }
  }
  if (add_special_tokens) {
    if (impl.post_processor) impl.post_processor->process(ids);
    if (impl.legacy_add_bos) ids.insert(ids.begin(), *impl.bos_id);
    if (impl.legacy_add_eos) ids.push_back(*impl.eos_id);
  }
  return ids;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  const Impl& impl = *impl_;
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (const int32_t id : ids) {
    if (skip_special_tokens && impl.special_ids.contains(id)) continue;
    const std::string* token = impl.id_to_token(id);
    if (token != nullptr) tokens.push_back(*token);
  }
  std::string text;
  if (impl.decoder) {
    impl.decoder->decode_chain(tokens);
    for (const auto& token : tokens) text += token;
  } else {
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0) text += ' ';
      text += tokens[i];
    }
  }
  return text;
}

std::optional<std::string> Tokenizer::id_to_token(int32_t id) const {
  const std::string* token = impl_->id_to_token(id);
  if (token == nullptr) return std::nullopt;
  return *token;
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  return impl_->token_to_id(token);
}

int32_t Tokenizer::vocab_size() const {
  int32_t size = impl_->model->vocab_size();
  for (const auto& token : impl_->added_tokens) size = std::max(size, token.id + 1);
  return size;
}

std::optional<size_t> Tokenizer::max_token_bytes() const {
  std::optional<size_t> longest = impl_->model->max_token_bytes();
  if (!longest) return std::nullopt;
  for (const auto& token : impl_->added_tokens) longest = std::max(*longest, token.content.size());
  return longest;
}

bool Tokenizer::is_special(int32_t id) const { return impl_->special_ids.contains(id); }
const std::vector<AddedToken>& Tokenizer::added_tokens() const { return impl_->added_tokens; }
const std::string& Tokenizer::bos_token() const { return impl_->bos_token; }
const std::string& Tokenizer::eos_token() const { return impl_->eos_token; }
std::optional<int32_t> Tokenizer::bos_id() const { return impl_->bos_id; }
std::optional<int32_t> Tokenizer::eos_id() const { return impl_->eos_id; }
std::optional<int32_t> Tokenizer::unk_id() const { return impl_->unk_id; }
std::optional<int32_t> Tokenizer::pad_id() const { return impl_->pad_id; }
const nlohmann::json& Tokenizer::config() const { return impl_->config; }

}  // namespace lamina::tokenizer
