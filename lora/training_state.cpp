// Training state files: zstd( u64 header length | JSON header | raw little-endian arrays ).
#include "lora/training_state.h"

#include <zstd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "libcore/io/atomic_file.h"
#include "libcore/io/safetensors.h"
#include "libcore/ops/ops.h"

namespace lamina::lora {

using namespace lamina::core;

namespace {

constexpr const char* kFormat = "lamina-training-state";
constexpr int kVersion = 1;
constexpr const char* kStateSuffix = "training_state.zst";
constexpr const char* kAdapterSuffix = "adapters.safetensors";
constexpr const char* kIterationKey = "lamina_iteration";

void append_arrays(const std::vector<Array>& arrays, const char* group, nlohmann::ordered_json& header,
                   std::string& data) {
  for (const Array& a : arrays) {
    Array c = contiguous(a);
    c.eval();
    header["arrays"].push_back({{"group", group}, {"dtype", dtype_name(c.dtype())}, {"shape", c.shape()}});
    data.append(static_cast<const char*>(c.raw_data()), c.nbytes());
  }
}

}  // namespace

std::string training_state_path(const std::string& adapter_file) {
  std::filesystem::path p(adapter_file);
  std::string name = p.filename().string();
  const std::string suffix = kAdapterSuffix;
  if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
    name = name.substr(0, name.size() - suffix.size()) + kStateSuffix;
  } else {
    name += "." + std::string(kStateSuffix);
  }
  return (p.parent_path() / name).string();
}

int64_t adapter_file_iteration(const std::string& adapter_file) {
  const auto metadata = io::load_safetensors(adapter_file).metadata;
  auto it = metadata.find(kIterationKey);
  if (it == metadata.end()) return -1;
  try {
    return std::stoll(it->second);
  } catch (const std::exception&) {
    throw Error(adapter_file + ": metadata '" + kIterationKey + "' is not a number: " + it->second);
  }
}

void save_training_state(const std::string& path, const TrainingState& state) {
  nlohmann::ordered_json header;
  header["format"] = kFormat;
  header["version"] = kVersion;
  header["info"] = state.info;
  header["arrays"] = nlohmann::ordered_json::array();
  std::string data;
  append_arrays(state.optimizer_state, "optimizer", header, data);
  append_arrays(state.accumulated_gradients, "gradients", header, data);
  std::string head = header.dump();
  uint64_t n = head.size();
  std::string raw(reinterpret_cast<const char*>(&n), sizeof(n));
  raw += head;
  raw += data;
  std::string packed(ZSTD_compressBound(raw.size()), '\0');
  size_t size = ZSTD_compress(packed.data(), packed.size(), raw.data(), raw.size(), 3);
  if (ZSTD_isError(size)) throw Error(path + ": zstd compression failed (" + ZSTD_getErrorName(size) + ")");
  io::AtomicFile f(path);
  f.write(packed.data(), size);
  f.commit();
}

TrainingState load_training_state(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  std::string packed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  unsigned long long content = ZSTD_getFrameContentSize(packed.data(), packed.size());
  if (content == ZSTD_CONTENTSIZE_ERROR || content == ZSTD_CONTENTSIZE_UNKNOWN) {
    throw Error(path + ": not a lamina training state (not a zstd frame)");
  }
  std::string raw(content, '\0');
  size_t got = ZSTD_decompress(raw.data(), raw.size(), packed.data(), packed.size());
  if (ZSTD_isError(got) || got != content) throw Error(path + ": corrupt zstd data");
  uint64_t n = 0;
  if (raw.size() < sizeof(n)) throw Error(path + ": truncated training state");
  std::memcpy(&n, raw.data(), sizeof(n));
  if (n > raw.size() - sizeof(n)) throw Error(path + ": truncated training state header");
  nlohmann::ordered_json header;
  try {
    header = nlohmann::ordered_json::parse(raw.substr(sizeof(n), n));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": bad training state header (" + std::string(e.what()) + ")");
  }
  if (header.value("format", "") != kFormat || header.value("version", 0) != kVersion) {
    throw Error(path + ": not a lamina training state of version " + std::to_string(kVersion));
  }
  TrainingState state;
  state.info = header["info"];
  size_t offset = sizeof(n) + n;
  for (const auto& a : header["arrays"]) {
    Dtype dtype = dtype_from_name(a["dtype"].get<std::string>());
    Shape shape = a["shape"].get<Shape>();
    size_t bytes = static_cast<size_t>(shape_size(shape)) * size_of(dtype);
    if (offset + bytes > raw.size()) throw Error(path + ": truncated array data");
    Array arr = Array::from_bytes(raw.data() + offset, shape, dtype);
    offset += bytes;
    (a["group"] == "optimizer" ? state.optimizer_state : state.accumulated_gradients).push_back(arr);
  }
  return state;
}

}  // namespace lamina::lora
