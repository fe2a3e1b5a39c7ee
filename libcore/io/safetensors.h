// safetensors reading (mmap, zero-copy, strictly validated) and writing (streamed, atomic),
// single files and sharded model directories (model.safetensors.index.json).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "libcore/array/array.h"

namespace lamina::io {

// Named arrays in the order they are (to be) stored.
using NamedArrays = std::vector<std::pair<std::string, core::Array>>;

// What a safetensors file (or a sharded checkpoint) holds.
struct SafetensorsData {
  std::vector<std::string> names;               // in file order (shard by shard)
  std::map<std::string, core::Array> tensors;   // evaluated; views into the mapped file
  std::map<std::string, std::string> metadata;  // "__metadata__" (of the first shard)
  std::vector<std::string> files;               // the files read, in order
};

// mlx-lm's default largest shard: 5 GB.
inline constexpr uint64_t kDefaultMaxShardBytes = uint64_t{5} << 30;
inline constexpr const char* kSingleWeightsFile = "model.safetensors";
inline constexpr const char* kWeightsIndexFile = "model.safetensors.index.json";

// Returns the safetensors dtype code ("BF16", "F32", ...) of a lamina dtype.
const char* safetensors_dtype_name(core::Dtype dtype);
// Returns the lamina dtype of a safetensors dtype code, or nullopt when lamina has none.
std::optional<core::Dtype> dtype_from_safetensors(const std::string& code);

// Reads a safetensors file. Arrays view the mmap'd file (pages are read on first touch);
// a tensor whose offset is misaligned for its dtype is copied instead. Throws lamina::Error
// naming the file (and tensor) for every malformed header or data layout.
SafetensorsData load_safetensors(const std::string& path);

// Writes tensors (evaluated one at a time, any layout) and metadata as a safetensors file,
// via a temporary file renamed into place when complete. Throws lamina::Error on a bad name
// or a failed write, leaving no file behind.
void save_safetensors(const std::string& path, const NamedArrays& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Reads a model directory's weights: model.safetensors.index.json and its shards when the
// index exists, else model.safetensors, else every model*.safetensors. Throws naming a
// missing shard, a tensor the index lists but its shard lacks, or a tensor in two shards.
SafetensorsData load_model_weights(const std::string& dir);

// Writes tensors into `dir` as shards of at most max_shard_bytes (a larger tensor gets a
// shard of its own) named model-0000i-of-0000n.safetensors, or model.safetensors when one
// shard suffices, plus model.safetensors.index.json, as mlx-lm does. Every file goes
// through a temporary name; all are renamed into place only once all were written, and
// weight files of an earlier save that the new index does not name are removed.
void save_sharded(const std::string& dir, const NamedArrays& tensors,
                  uint64_t max_shard_bytes = kDefaultMaxShardBytes,
                  const std::map<std::string, std::string>& metadata = {});

// Called after each tensor is written, with its name and byte count.
using TensorWrittenCallback = std::function<void(const std::string& name, uint64_t bytes)>;

// As save_sharded, but consumes `tensors`: each is evaluated, written and released before
// the next one, so when they are lazy (casts or quantizations of a memory-mapped
// checkpoint) peak memory is about the largest tensor rather than the model.
void save_sharded_streaming(const std::string& dir, NamedArrays tensors,
                            uint64_t max_shard_bytes = kDefaultMaxShardBytes,
                            const std::map<std::string, std::string>& metadata = {},
                            const TensorWrittenCallback& on_written = {});

}  // namespace lamina::io
