// Decoders (see decoder.h), each following its HF tokenizers definition.
#include "libcore/tokenizer/decoder.h"

#include "libcore/tokenizer/regex.h"
#include "libcore/tokenizer/unicode.h"

namespace lamina::tokenizer {
namespace {

// Maps byte-level characters back to bytes; a token with any other character keeps its
// own bytes. The result is repaired as Rust's from_utf8_lossy does.
class ByteLevelDecoder : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string bytes;
    std::string token_bytes;
    for (const auto& token : tokens) {
      token_bytes.clear();
      bool all_mapped = true;
      size_t i = 0;
      while (i < token.size()) {
        const int byte = unicode_to_byte(next_code_point(token, i));
        if (byte < 0) {
          all_mapped = false;
          break;
        }
        token_bytes += static_cast<char>(byte);
      }
      bytes += all_mapped ? token_bytes : token;
    }
    tokens.assign(1, utf8_lossy(bytes));
  }
};

class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(std::string replacement, bool strip_first)
      : replacement_(std::move(replacement)), strip_first_(strip_first) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t t = 0; t < tokens.size(); ++t) {
      std::string out;
      const std::string& token = tokens[t];
      for (size_t pos = 0; pos < token.size();) {
        if (token.compare(pos, replacement_.size(), replacement_) == 0) {
          if (t != 0 || !strip_first_) out += ' ';
          pos += replacement_.size();
        } else {
          out += token[pos++];
        }
      }
      tokens[t] = std::move(out);
    }
  }

 private:
  std::string replacement_;
  bool strip_first_;
};

class ReplaceDecoder : public Decoder {
 public:
  ReplaceDecoder(const std::string& regex, std::string content, const std::string& where)
      : regex_(regex, where), content_(std::move(content)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (auto& token : tokens) {
      const auto matches = regex_.find_all(token);
      if (matches.empty()) continue;
      std::string out;
      size_t last = 0;
      for (const auto& [begin, end] : matches) {
        out.append(token, last, begin - last);
        out += content_;
        last = end;
      }
      out.append(token, last, std::string::npos);
      token = std::move(out);
    }
  }

 private:
  Regex regex_;
  std::string content_;
};

// Joins runs of "<0xXX>" tokens into the text their bytes spell; a run that is not valid
// UTF-8 becomes one U+FFFD per byte.
class ByteFallbackDecoder : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    out.reserve(tokens.size());
    std::string pending;
    size_t pending_count = 0;
    auto flush = [&] {
      if (pending_count == 0) return;
      if (is_valid_utf8(pending)) {
        out.push_back(pending);
      } else {
        for (size_t k = 0; k < pending_count; ++k) out.emplace_back(kReplacementUtf8);
      }
      pending.clear();
      pending_count = 0;
    };
    for (auto& token : tokens) {
      const int byte = byte_token_value(token);
      if (byte >= 0) {
        pending += static_cast<char>(byte);
        ++pending_count;
      } else {
        flush();
        out.push_back(std::move(token));
      }
    }
    flush();
    tokens = std::move(out);
  }

  static int byte_token_value(const std::string& token) {
    if (token.size() != 6 || token.compare(0, 3, "<0x") != 0 || token[5] != '>') return -1;
    int value = 0;
    for (size_t k = 3; k < 5; ++k) {
      const char c = token[k];
      int digit = 0;
      if (c >= '0' && c <= '9') {
        digit = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        digit = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        digit = c - 'A' + 10;
      } else {
        return -1;
      }
      value = value * 16 + digit;
    }
    return value;
  }
};

class FuseDecoder : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string joined;
    for (const auto& token : tokens) joined += token;
    tokens.assign(1, std::move(joined));
  }
};

// Removes up to `start` leading and `stop` trailing copies of one character per token.
class StripDecoder : public Decoder {
 public:
  StripDecoder(std::string content, size_t start, size_t stop)
      : content_(std::move(content)), start_(start), stop_(stop) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    const size_t n = content_.size();
    for (auto& token : tokens) {
      size_t begin = 0;
      for (size_t k = 0;
           k < start_ && token.compare(begin, n, content_) == 0 && begin + n <= token.size(); ++k) {
        begin += n;
      }
      size_t end = token.size();
      for (size_t k = 0; k < stop_ && end >= begin + n && token.compare(end - n, n, content_) == 0;
           ++k) {
        end -= n;
      }
      token = token.substr(begin, end - begin);
    }
  }

 private:
  std::string content_;
  size_t start_;
  size_t stop_;
};

// BPEDecoder: the end-of-word suffix becomes a space (none after the last token).
class BpeSuffixDecoder : public Decoder {
 public:
  explicit BpeSuffixDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t t = 0; t < tokens.size(); ++t) {
      std::string& token = tokens[t];
      const std::string with = t + 1 == tokens.size() ? "" : " ";
      std::string out;
      for (size_t pos = 0; pos < token.size();) {
        if (!suffix_.empty() && token.compare(pos, suffix_.size(), suffix_) == 0) {
          out += with;
          pos += suffix_.size();
        } else {
          out += token[pos++];
        }
      }
      token = std::move(out);
    }
  }

 private:
  std::string suffix_;
};

class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> steps)
      : steps_(std::move(steps)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (const auto& step : steps_) step->decode_chain(tokens);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> steps_;
};

}  // namespace

std::unique_ptr<Decoder> make_decoder(const Json& json, const std::string& where) {
  if (json.is_null()) return nullptr;
  const std::string type = component_type(json, where);
  const std::string here = where + " (" + type + ")";
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "Metaspace") {
    std::string replacement = optional_string(json, "replacement", "", here);
    if (replacement.empty()) replacement = optional_string(json, "str_rep", "\xE2\x96\x81", here);
    bool strip_first = optional_bool(json, "add_prefix_space", true, here);
    if (json.contains("prepend_scheme") && !json["prepend_scheme"].is_null()) {
      strip_first = require_string(json, "prepend_scheme", here) != "never";
    }
    return std::make_unique<MetaspaceDecoder>(replacement, strip_first);
  }
  if (type == "Replace") {
    return std::make_unique<ReplaceDecoder>(
        pattern_to_regex(require_field(json, "pattern", here), here),
        require_string(json, "content", here), here);
  }
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Strip") {
    const std::string content = require_string(json, "content", here);
    size_t i = 0;
    if (content.empty()) fail(here, "'content' must be one character");
    next_code_point(content, i);
    if (i != content.size()) fail(here, "'content' must be one character");
    const int64_t start = optional_int(json, "start", 0, here);
    const int64_t stop = optional_int(json, "stop", 0, here);
    if (start < 0 || stop < 0) fail(here, "'start' and 'stop' must not be negative");
    return std::make_unique<StripDecoder>(content, static_cast<size_t>(start),
                                          static_cast<size_t>(stop));
  }
  if (type == "BPEDecoder") {
    return std::make_unique<BpeSuffixDecoder>(optional_string(json, "suffix", "</w>", here));
  }
  if (type == "Sequence") {
    const Json& list = require_field(json, "decoders", here);
    if (!list.is_array()) fail(here, "'decoders' must be a list");
    std::vector<std::unique_ptr<Decoder>> steps;
    for (size_t i = 0; i < list.size(); ++i) {
      auto step = make_decoder(list[i], where + ".decoders[" + std::to_string(i) + "]");
      if (step) steps.push_back(std::move(step));
    }
    return std::make_unique<SequenceDecoder>(std::move(steps));
  }
  fail(where, "decoder type '" + type + "' is not supported");
}

}  // namespace lamina::tokenizer
