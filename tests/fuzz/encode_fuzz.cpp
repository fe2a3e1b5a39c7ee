// Fuzzes encoding and decoding of arbitrary bytes with the real Llama-2 (SentencePiece BPE,
// byte fallback) and GPT-2 (byte-level BPE) tokenizers of the test data; decoding the
// ids of valid UTF-8 must give the text back through the streaming detokenizer too.
#include <cstdint>

#include "libcore/error.h"
#include "libcore/tokenizer/streaming_detokenizer.h"
#include "libcore/tokenizer/tokenizer.h"

#ifndef LAMINA_TESTDATA
#error "LAMINA_TESTDATA must name ../shared/testdata"
#endif

using lamina::tokenizer::Tokenizer;

namespace {
const Tokenizer* llama = nullptr;
const Tokenizer* gpt2 = nullptr;
}  // namespace

// Loading the two real tokenizers takes over a second under ASan: done once, before the
// per-input timeout runs.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  llama = new Tokenizer(Tokenizer::load(std::string(LAMINA_TESTDATA) + "/tokenizers/llama2"));
  gpt2 = new Tokenizer(Tokenizer::load(std::string(LAMINA_TESTDATA) + "/tokenizers/gpt2"));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const Tokenizer* t : {llama, gpt2}) {
    auto ids = t->encode(text, true);
    std::string whole = t->decode(ids, true);
    lamina::tokenizer::StreamingDetokenizer stream(*t, true);
    std::string streamed;
    for (int32_t id : ids) streamed += stream.add(id);
    streamed += stream.finalize();
    if (streamed != whole) __builtin_trap();
    // Arbitrary ids, including out-of-range ones, decode without crashing.
    std::vector<int32_t> raw;
    for (size_t i = 0; i + 4 <= size && raw.size() < 64; i += 4) {
      raw.push_back(static_cast<int32_t>(data[i] | data[i + 1] << 8 | data[i + 2] << 16 | uint32_t(data[i + 3]) << 24));
    }
    t->decode(raw, false);
  }
  return 0;
}
