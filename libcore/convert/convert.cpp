// The convert pipeline.
#include "libcore/convert/convert.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <vector>

#include "libcore/convert/output_dir.h"
#include "libcore/io/safetensors.h"
#include "libcore/models/loader.h"
#include "libcore/models/registry.h"
#include "libcore/ops/ops.h"

namespace lamina::convert {

namespace fs = std::filesystem;
using namespace lamina::core;

const std::vector<std::string>& tokenizer_files() {
  static const std::vector<std::string> files = {
      "tokenizer.json",   "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model",
      "chat_template.jinja", "chat_template.json", "generation_config.json", "added_tokens.json",
      "vocab.json",       "merges.txt"};
  return files;
}

namespace {

Dtype default_dtype(const nlohmann::json& config) {
  for (const char* key : {"torch_dtype", "dtype"}) {
    if (config.contains(key) && config[key].is_string()) {
      std::string name = config[key].get<std::string>();
      if (name == "float32" || name == "float16" || name == "bfloat16") return dtype_from_name(name);
    }
  }
  return Dtype::float16;
}

void write_text_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  f.flush();
  if (!f) throw Error(path + ": write failed");
}

}  // namespace

ConvertSummary convert_model(const ConvertOptions& options, const ProgressCallback& progress) {
  auto start = std::chrono::steady_clock::now();
  ConvertSummary summary;
  if (!fs::is_directory(options.hf_path)) throw Error(options.hf_path + ": not a directory");
  nlohmann::json config = models::read_config(options.hf_path);
  summary.model_type = models::config_value<std::string>(config, "model_type", "");
  if (summary.model_type.empty()) throw Error(options.hf_path + "/config.json: missing field 'model_type'");
  const models::Architecture& arch = models::find_architecture(summary.model_type);
  summary.dtype = options.dtype ? *options.dtype : default_dtype(config);

  io::SafetensorsData source = io::load_model_weights(options.hf_path);
  nn::WeightMap weights(source.tensors, options.hf_path);
  for (const auto& [name, a] : weights.tensors()) summary.bytes_in += a.nbytes();
  arch.sanitize(config, weights);
  {
    // Build the model once (lazily, nothing computed) so missing or misshapen tensors are
    // reported before anything is written.
    nn::WeightMap check(weights.tensors(), options.hf_path);
    arch.create(config, check);
  }

  io::NamedArrays named;
  for (auto& [name, a] : weights.tensors()) {
    named.emplace_back(name, is_floating(a.dtype()) ? astype(a, summary.dtype) : a);
    summary.bytes_out += static_cast<uint64_t>(a.size()) *
                         static_cast<uint64_t>(size_of(is_floating(a.dtype()) ? summary.dtype : a.dtype()));
  }
  weights = nn::WeightMap();
  source = io::SafetensorsData();
  summary.tensors = static_cast<int64_t>(named.size());

  OutputDirectory out(options.mlx_path, options.hf_path, options.force);
  io::save_sharded(out.path(), named, options.max_shard_bytes, {{"format", "mlx"}});
  if (progress) progress(summary.tensors, summary.tensors);

  write_text_file((fs::path(out.path()) / "config.json").string(), config.dump(4) + "\n");
  for (const auto& name : tokenizer_files()) {
    fs::path src = fs::path(options.hf_path) / name;
    if (fs::exists(src)) {
      std::error_code ec;
      fs::copy_file(src, fs::path(out.path()) / name, ec);
      if (ec) throw Error(src.string() + ": cannot copy (" + ec.message() + ")");
    }
  }
  out.commit();
  summary.output = options.mlx_path;
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace lamina::convert
