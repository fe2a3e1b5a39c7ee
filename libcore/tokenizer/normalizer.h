// Normalizers of tokenizer.json ("normalizer" field): Unicode forms, Lowercase, Prepend,
// Replace, Strip, Sequence... Each rewrites one piece of text before pre-tokenization.
#pragma once

#include <memory>
#include <string>

#include "libcore/tokenizer/json_fields.h"

namespace lamina::tokenizer {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  // Rewrites `text` (valid UTF-8) in place.
  virtual void normalize(std::string& text) const = 0;
};

// The normalizer a tokenizer.json "normalizer" value describes, or null for JSON null.
// Unknown or malformed components throw lamina::Error prefixed with `where`.
std::unique_ptr<Normalizer> make_normalizer(const Json& json, const std::string& where);

}  // namespace lamina::tokenizer
