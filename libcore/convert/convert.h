// convert: a Hugging Face (or lamina/MLX) checkpoint directory -> a lamina/MLX model
// directory: sanitized weights cast to one dtype, optionally quantized (or dequantized),
// streamed tensor by tensor into shards + index, with config and tokenizer files.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "libcore/array/dtype.h"
#include "quant/quantize_model.h"

namespace lamina::convert {

struct ConvertOptions {
  std::string hf_path;
  std::string mlx_path;
  std::optional<core::Dtype> dtype;  // default: config's torch_dtype/dtype, else float16
  bool force = false;
  uint64_t max_shard_bytes = uint64_t{5} << 30;
  std::optional<quant::QuantizeOptions> quantize;  // -q
  bool dequantize = false;                          // --dequantize
};

struct ConvertSummary {
  std::string output;
  std::string model_type;
  core::Dtype dtype = core::Dtype::float16;
  int64_t tensors = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  int64_t parameters = 0;        // logical (a packed weight counts the values it holds)
  double bits_per_weight = 0;    // 8 * bytes_out / parameters
  double seconds = 0;
  bool quantized = false;        // the output is quantized
  int64_t quantized_modules = 0; // modules quantized by this run
  // Modules left in float by this run's quantization, with the reason.
  std::vector<std::pair<std::string, std::string>> left_in_float;
};

// Called after each tensor is written with the bytes written so far and in total.
using ProgressCallback = std::function<void(uint64_t done_bytes, uint64_t total_bytes)>;

// Runs the conversion. Everything that can be checked (config, tensors, shapes, quantization
// arguments, the output location) is checked before anything is written; on any error
// nothing is left at mlx_path (an existing directory there is only replaced, with force,
// once the new one is complete).
ConvertSummary convert_model(const ConvertOptions& options, const ProgressCallback& progress = {});

// The files copied beside the weights when present.
const std::vector<std::string>& tokenizer_files();
// Copies those of tokenizer_files() that `from_dir` has into `to_dir` (each atomically).
void copy_tokenizer_files(const std::string& from_dir, const std::string& to_dir);

}  // namespace lamina::convert
