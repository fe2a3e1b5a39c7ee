// Reading small text files (JSON configs, tokenizers, templates) with a size cap, so a
// hostile or mistaken multi-gigabyte file is refused before it is read into memory.
#pragma once

#include <cstdint>
#include <string>

namespace lamina::io {

// The largest JSON (or template) file lamina reads: config.json, tokenizer.json,
// tokenizer_config.json, model.safetensors.index.json, adapter_config.json... About twice
// the largest tokenizer.json in common use (Gemma 3's, 33 MB); parsing a file of this size
// stays well under 2 GB of memory whatever it holds.
inline constexpr uint64_t kMaxJsonFileBytes = uint64_t{64} << 20;

// Returns the whole content of `path`. Throws lamina::Error naming the file when it cannot
// be opened or read, or when it is larger than `max_bytes` (checked before reading).
std::string read_text_file(const std::string& path, uint64_t max_bytes = kMaxJsonFileBytes);

}  // namespace lamina::io
