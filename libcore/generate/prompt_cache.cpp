// Prompt cache files: save, load, and the model fingerprint they are checked against.
#include "libcore/generate/prompt_cache.h"

#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "libcore/error.h"
#include "libcore/io/atomic_file.h"
#include "libcore/io/safetensors.h"
#include "libcore/models/loader.h"
#include "libcore/ops/ops.h"

namespace lamina::generate {

using namespace lamina::core;

namespace {

constexpr const char* kFormat = "lamina-prompt-cache";
constexpr uint64_t kMaxHeaderBytes = 64ull << 20;

struct Fnv1a {
  uint64_t h = 1469598103934665603ull;
  void add(const void* data, size_t n) {
    auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  }
  void add(const std::string& s) { add(s.data(), s.size() + 1); }
};

std::string hex(uint64_t v) {
  static const char* digits = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) s[static_cast<size_t>(i)] = digits[v & 15];
  return s;
}

}  // namespace

std::string model_fingerprint(const std::string& dir) {
  Fnv1a hash;
  hash.add(models::read_config(dir).dump());
  auto weights = io::load_model_weights(dir);
  for (const auto& [name, t] : weights.tensors) {  // in name order
    hash.add(name);
    hash.add(dtype_name(t.dtype()));
    for (int64_t d : t.shape()) hash.add(&d, sizeof d);
    // Samples from the start, middle and end of the tensor's bytes (touches a few pages).
    const auto* bytes = static_cast<const unsigned char*>(t.raw_data());
    size_t n = t.nbytes(), sample = std::min<size_t>(n, 64);
    for (size_t at : {size_t{0}, (n - sample) / 2, n - sample}) hash.add(bytes + at, sample);
  }
  return hex(hash.h);
}

void save_prompt_cache(const std::string& path, const std::string& fingerprint,
                       const std::vector<int32_t>& tokens, const std::vector<nn::KVCache>& cache,
                       const nlohmann::json& metadata) {
  std::vector<Array> parts;
  nlohmann::json layers = nlohmann::json::array();
  Dtype dtype = Dtype::float32;
  for (const auto& c : cache) {
    if (c.size() != c.offset()) throw Error(path + ": a rotating KV cache cannot be saved as a prompt cache");
    if (!c.keys().valid()) throw Error(path + ": the KV cache is empty");
    Array k = contiguous(slice_axis(c.keys(), 2, 0, c.size()));
    Array v = contiguous(slice_axis(c.values(), 2, 0, c.size()));
    dtype = k.dtype();
    layers.push_back({{"shape", k.shape()}});
    parts.push_back(k);
    parts.push_back(v);
  }
  eval(parts);
  nlohmann::json header = {{"format", kFormat}, {"version", 1},        {"model", fingerprint},
                           {"dtype", dtype_name(dtype)}, {"tokens", tokens}, {"metadata", metadata}, {"layers", layers}};
  std::string head = header.dump();
  std::string raw(8, '\0');
  uint64_t n = head.size();
  for (int i = 0; i < 8; ++i) raw[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  raw += head;
  for (const auto& p : parts) raw.append(static_cast<const char*>(p.raw_data()), p.nbytes());

  std::string packed(ZSTD_compressBound(raw.size()), '\0');
  size_t size = ZSTD_compress(packed.data(), packed.size(), raw.data(), raw.size(), 3);
  if (ZSTD_isError(size)) throw Error(path + ": compression failed (" + ZSTD_getErrorName(size) + ")");
  io::AtomicFile out(path);
  out.write(packed.data(), size);
  out.commit();
}

PromptCacheFile load_prompt_cache(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open the prompt cache file");
  std::string packed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto bad = [&](const std::string& what) { return Error(path + ": not a valid prompt cache (" + what + ")"); };
  unsigned long long raw_size = ZSTD_getFrameContentSize(packed.data(), packed.size());
  if (raw_size == ZSTD_CONTENTSIZE_ERROR || raw_size == ZSTD_CONTENTSIZE_UNKNOWN) throw bad("not zstd data");
  if (raw_size < 8 || raw_size > (1ull << 40)) throw bad("implausible size");
  std::string raw(static_cast<size_t>(raw_size), '\0');
  size_t got = ZSTD_decompress(raw.data(), raw.size(), packed.data(), packed.size());
  if (ZSTD_isError(got) || got != raw.size()) throw bad("truncated or corrupt zstd data");

  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<unsigned char>(raw[static_cast<size_t>(i)])) << (8 * i);
  if (n > kMaxHeaderBytes || n > raw.size() - 8) throw bad("header length out of range");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(raw.substr(8, n));
  } catch (const nlohmann::json::exception& e) {
    throw bad("header is not JSON");
  }
  PromptCacheFile file;
  size_t at = 8 + n;
  try {
    if (header.value("format", "") != kFormat || header.value("version", 0) != 1) throw bad("unknown format");
    file.model = header.at("model").get<std::string>();
    file.dtype = dtype_from_name(header.at("dtype").get<std::string>());
    file.tokens = header.at("tokens").get<std::vector<int32_t>>();
    file.metadata = header.value("metadata", nlohmann::json::object());
    for (const auto& layer : header.at("layers")) {
      auto shape = layer.at("shape").get<Shape>();
      if (shape.size() != 4 || std::any_of(shape.begin(), shape.end(), [](int64_t d) { return d <= 0 || d > (1 << 24); }))
        throw bad("bad layer shape");
      size_t bytes = static_cast<size_t>(shape_size(shape)) * static_cast<size_t>(size_of(file.dtype));
      if (raw.size() - at < 2 * bytes) throw bad("tensor data shorter than the header says");
      Array k = Array::from_bytes(raw.data() + at, shape, file.dtype);
      Array v = Array::from_bytes(raw.data() + at + bytes, shape, file.dtype);
      at += 2 * bytes;
      nn::KVCache cache;
      cache.set_state(k, v, shape[2]);
      file.layers.push_back(std::move(cache));
    }
  } catch (const nlohmann::json::exception& e) {
    throw bad(std::string("header: ") + e.what());
  }
  if (at != raw.size()) throw bad("trailing bytes after the tensors");
  if (!file.layers.empty() && static_cast<int64_t>(file.tokens.size()) != file.layers.front().offset())
    throw bad("token count does not match the cached positions");
  return file;
}

}  // namespace lamina::generate
