// StreamingDetokenizer: turns ids into printable text one id at a time during generation.
// Text comes out only once it is complete UTF-8 (byte-fallback and byte-level pieces of one
// character are held back until the character is whole), and all the text it gives out,
// concatenated, equals Tokenizer::decode of all the ids.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "libcore/tokenizer/tokenizer.h"

namespace lamina::tokenizer {

class StreamingDetokenizer {
 public:
  // `tokenizer` must outlive this object.
  explicit StreamingDetokenizer(const Tokenizer& tokenizer, bool skip_special_tokens = false);

  // Adds one id; returns the text that became safe to print (often empty).
  std::string add(int32_t id);
  // Returns whatever is still held back (an incomplete character decodes as U+FFFD); call
  // once at the end of the stream.
  std::string finalize();
  // Forgets all ids, to start a new stream.
  void reset();

  // Every id added so far.
  const std::vector<int32_t>& ids() const { return ids_; }

 private:
  const Tokenizer* tokenizer_;
  bool skip_special_tokens_;
  std::vector<int32_t> ids_;
  // Text is decoded from ids_[prefix_begin_:], whose part up to read_begin_ was already
  // printed; decoding a little context before the new ids keeps spacing rules (a leading
  // space strip, say) applied as they are for the whole sequence.
  size_t prefix_begin_ = 0;
  size_t read_begin_ = 0;
};

}  // namespace lamina::tokenizer
