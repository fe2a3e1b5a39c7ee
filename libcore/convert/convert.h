// convert: a Hugging Face checkpoint directory -> a lamina/MLX model directory
// (sanitized weights cast to one dtype, shards + index, config and tokenizer files).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "libcore/array/dtype.h"

namespace lamina::convert {

struct ConvertOptions {
  std::string hf_path;
  std::string mlx_path;
  std::optional<core::Dtype> dtype;  // default: config's torch_dtype/dtype, else float16
  bool force = false;
  uint64_t max_shard_bytes = uint64_t{5} << 30;
};

struct ConvertSummary {
  std::string output;
  std::string model_type;
  core::Dtype dtype = core::Dtype::float16;
  int64_t tensors = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  double seconds = 0;
};

// Called after each tensor is written with (done, total).
using ProgressCallback = std::function<void(int64_t done, int64_t total)>;

// Runs the conversion; on any error nothing is left at mlx_path (an existing directory
// there is only replaced, with force, once the new one is complete).
ConvertSummary convert_model(const ConvertOptions& options, const ProgressCallback& progress = {});

// The files copied beside the weights when present.
const std::vector<std::string>& tokenizer_files();

}  // namespace lamina::convert
