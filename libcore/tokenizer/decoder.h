// Decoders of tokenizer.json ("decoder" field): they turn the token strings of a list of ids
// back into text (ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, Sequence...).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "libcore/tokenizer/json_fields.h"

namespace lamina::tokenizer {

class Decoder {
 public:
  virtual ~Decoder() = default;
  // Rewrites the token strings in place (a step may fuse them into fewer strings).
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
};

// The decoder a tokenizer.json "decoder" value describes, or null for JSON null.
// Unknown or malformed components throw lamina::Error prefixed with `where`.
std::unique_ptr<Decoder> make_decoder(const Json& json, const std::string& where);

}  // namespace lamina::tokenizer
