// Fuzzes the training data reader: any bytes as a train.jsonl file, tokenized with the
// Llama-2 tokenizer of the test data and its chat template, with and without
// --mask-prompt. Every example that loads must have its loss offset inside its tokens.
#include <cstdint>

#include "libcore/error.h"
#include "libcore/tokenizer/tokenizer.h"
#include "lora/dataset.h"
#include "tests/fuzz/fuzz_util.h"

#ifndef LAMINA_TESTDATA
#error "LAMINA_TESTDATA must name ../shared/testdata"
#endif

using namespace lamina;

namespace {
const tokenizer::Tokenizer* tok = nullptr;
std::string chat_template;
}  // namespace

// The real tokenizer loads once, before the per-input timeout runs.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::string dir = std::string(LAMINA_TESTDATA) + "/tokenizers/llama2";
  tok = new tokenizer::Tokenizer(tokenizer::Tokenizer::load(dir));
  chat_template = fuzz::read_file(dir + "/chat_template.jinja");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path = fuzz::scratch_dir() + "/train.jsonl";
  fuzz::write_file(path, {reinterpret_cast<const char*>(data), size});
  for (bool mask_prompt : {false, true}) {
    lora::TextEncoder encoder;
    encoder.tokenizer = tok;
    encoder.chat_template = chat_template;
    encoder.special_tokens = {{"bos_token", "<s>"}, {"eos_token", "</s>"}};
    encoder.mask_prompt = mask_prompt;
    try {
      for (const auto& example : lora::load_jsonl(path, encoder)) {
        if (example.offset < 0 || example.offset > static_cast<int64_t>(example.tokens.size())) {
          __builtin_trap();
        }
      }
    } catch (const Error&) {
    }
  }
  return 0;
}
