// Fuzzes tokenizer.json loading: the input (split at a NUL byte) is tokenizer.json and then
// a text that the loaded tokenizer encodes and decodes again.
#include <cstdint>

#include "libcore/error.h"
#include "libcore/tokenizer/tokenizer.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parts = lamina::fuzz::split_input(data, size, std::string_view("\0", 1), 2);
  try {
    auto tokenizer = lamina::tokenizer::Tokenizer::from_json_text(parts[0], "", "fuzz/tokenizer.json");
    auto ids = tokenizer.encode(parts[1], true);
    tokenizer.decode(ids, false);
  } catch (const lamina::Error&) {
  }
  return 0;
}
