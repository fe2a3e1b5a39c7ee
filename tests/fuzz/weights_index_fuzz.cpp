// Fuzzes model.safetensors.index.json: the input is the index of a directory holding two
// small valid shards, so the reader's checks of shard names and tensor maps are exercised.
#include <cstdint>
#include <filesystem>

#include "libcore/error.h"
#include "libcore/io/safetensors.h"
#include "libcore/ops/ops.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lamina;
  static const std::string dir = [] {
    std::string d = fuzz::scratch_dir() + "/model";
    std::filesystem::create_directories(d);
    core::Array a(std::vector<float>{1, 2, 3, 4}, {2, 2});
    core::Array b(std::vector<float>{5, 6}, {2});
    io::save_safetensors(d + "/model-00001-of-00002.safetensors", {{"a", a}});
    io::save_safetensors(d + "/model-00002-of-00002.safetensors", {{"b", b}});
    return d;
  }();
  fuzz::write_file(dir + "/model.safetensors.index.json", {reinterpret_cast<const char*>(data), size});
  try {
    io::load_model_weights(dir);
  } catch (const Error&) {
  }
  return 0;
}
