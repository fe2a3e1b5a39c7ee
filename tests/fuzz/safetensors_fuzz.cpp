// Fuzzes the safetensors reader: any bytes as a .safetensors file. Every tensor that loads
// is read in full, so a header that lies about offsets would be caught by ASan.
#include <cstdint>

#include "libcore/error.h"
#include "libcore/io/safetensors.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path = lamina::fuzz::scratch_dir() + "/input.safetensors";
  lamina::fuzz::write_file(path, {reinterpret_cast<const char*>(data), size});
  try {
    auto file = lamina::io::load_safetensors(path);
    volatile unsigned char sink = 0;
    for (const auto& [name, tensor] : file.tensors) {
      const auto* bytes = static_cast<const unsigned char*>(tensor.raw_data());
      for (size_t i = 0; i < tensor.nbytes(); ++i) sink = sink ^ bytes[i];
    }
  } catch (const lamina::Error&) {
  }
  return 0;
}
