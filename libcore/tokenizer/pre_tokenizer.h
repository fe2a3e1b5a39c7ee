// Pre-tokenizers of tokenizer.json ("pre_tokenizer" field): they cut normalized text into the
// words the model encodes one by one (ByteLevel, Split, Metaspace, Whitespace, Digits...).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "libcore/tokenizer/json_fields.h"

namespace lamina::tokenizer {

// One piece of text on its way to the model.
struct Piece {
  std::string text;
  // Whether the piece starts at offset 0 of the original input (Metaspace "first" needs it).
  bool at_start = false;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces `pieces` by their splits; empty pieces are dropped.
  virtual void pre_tokenize(std::vector<Piece>& pieces) const = 0;
};

// The pre-tokenizer a tokenizer.json "pre_tokenizer" value describes, or null for JSON null.
// Unknown or malformed components throw lamina::Error prefixed with `where`.
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const Json& json, const std::string& where);

// The regex GPT-2's byte-level pre-tokenizer splits with.
extern const char* const kGpt2SplitRegex;

}  // namespace lamina::tokenizer
