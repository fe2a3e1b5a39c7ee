// Incremental detokenization (see streaming_detokenizer.h): decode a short window of ids
// around the new one and print what it adds to the window's already-printed part.
#include "libcore/tokenizer/streaming_detokenizer.h"

#include <optional>
#include <span>

#include "libcore/tokenizer/unicode.h"

namespace lamina::tokenizer {

StreamingDetokenizer::StreamingDetokenizer(const Tokenizer& tokenizer, bool skip_special_tokens)
    : tokenizer_(&tokenizer), skip_special_tokens_(skip_special_tokens) {}

namespace {

// Whether `token` is a byte-fallback token such as "<0xE2>".
bool is_byte_token(const std::optional<std::string>& token) {
  return token && token->size() == 6 && token->compare(0, 3, "<0x") == 0 && (*token)[5] == '>';
}

}  // namespace

std::string StreamingDetokenizer::add(int32_t id) {
  ids_.push_back(id);
  // A run of byte-fallback tokens decodes as a whole (one invalid byte turns the entire run
  // into U+FFFDs), so nothing is printed until the run has ended.
  if (is_byte_token(tokenizer_->id_to_token(id))) return "";
  const std::span<const int32_t> all(ids_);
  const std::string printed = tokenizer_->decode(
      all.subspan(prefix_begin_, read_begin_ - prefix_begin_), skip_special_tokens_);
  const std::string text = tokenizer_->decode(all.subspan(prefix_begin_), skip_special_tokens_);
  // Hold back while the text ends in an incomplete character (decoded as U+FFFD) or does not
  // yet extend what was printed.
  if (text.size() <= printed.size() || text.compare(0, printed.size(), printed) != 0) return "";
  if (text.size() >= kReplacementUtf8.size() &&
      text.compare(text.size() - kReplacementUtf8.size(), kReplacementUtf8.size(),
                   kReplacementUtf8) == 0) {
    return "";
  }
  prefix_begin_ = read_begin_;
  read_begin_ = ids_.size();
  return text.substr(printed.size());
}

std::string StreamingDetokenizer::finalize() {
  const std::span<const int32_t> all(ids_);
  const std::string printed = tokenizer_->decode(
      all.subspan(prefix_begin_, read_begin_ - prefix_begin_), skip_special_tokens_);
  const std::string text = tokenizer_->decode(all.subspan(prefix_begin_), skip_special_tokens_);
  prefix_begin_ = read_begin_ = ids_.size();
  if (text.size() <= printed.size() || text.compare(0, printed.size(), printed) != 0) return "";
  return text.substr(printed.size());
}

void StreamingDetokenizer::reset() {
  ids_.clear();
  prefix_begin_ = read_begin_ = 0;
}

}  // namespace lamina::tokenizer
