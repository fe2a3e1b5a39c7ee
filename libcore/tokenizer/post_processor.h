// Post-processors of tokenizer.json ("post_processor" field): they add the special tokens
// (BOS, EOS, CLS/SEP...) around an encoded sequence when add_special_tokens is on.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "libcore/tokenizer/json_fields.h"

namespace lamina::tokenizer {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // Adds the special tokens of a single sequence around `ids`.
  virtual void process(std::vector<int32_t>& ids) const = 0;
};

// The post-processor a tokenizer.json "post_processor" value describes, or null for JSON null
// (and for processors that never change ids, such as ByteLevel). Unknown or malformed
// components throw lamina::Error prefixed with `where`.
std::unique_ptr<PostProcessor> make_post_processor(const Json& json, const std::string& where);

}  // namespace lamina::tokenizer
