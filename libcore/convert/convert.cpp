// The convert pipeline: validate everything, then stream each tensor (cast, quantize or
// dequantize) into the output shards, releasing it (and the source pages it was read from)
// before the next one.
#include "libcore/convert/convert.h"

#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <vector>

#include "libcore/convert/output_dir.h"
#include "libcore/io/atomic_file.h"
#include "libcore/io/safetensors.h"
#include "libcore/models/loader.h"
#include "libcore/models/registry.h"
#include "libcore/ops/ops.h"
#include "quant/quantization_config.h"

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

// Drops the pages of a memory-mapped source tensor from this process once it is written
// (they stay in the page cache), so resident memory does not grow to the whole model.
void release_source_pages(const Array& a) {
  if (!a.is_evaluated() || a.buffer()->owned_by_allocator() || a.nbytes() == 0) return;
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  auto begin = reinterpret_cast<uintptr_t>(a.raw_data());
  auto end = begin + a.nbytes();
  begin = (begin + page - 1) / page * page;  // whole pages inside the tensor only
  end = end / page * page;
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

std::string module_of(const std::string& name) {
  auto dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(0, dot);
}

}  // namespace

void copy_tokenizer_files(const std::string& from_dir, const std::string& to_dir) {
  for (const auto& name : tokenizer_files()) {
    fs::path src = fs::path(from_dir) / name;
    if (fs::exists(src)) io::copy_file_atomically(src.string(), (fs::path(to_dir) / name).string());
  }
}

ConvertSummary convert_model(const ConvertOptions& options, const ProgressCallback& progress) {
  auto start = std::chrono::steady_clock::now();
  ConvertSummary summary;
  if (options.quantize && options.dequantize) throw Error("convert: -q and --dequantize exclude each other");
  if (options.quantize) {
    core::check_quantization_params(options.quantize->group_size, options.quantize->bits, "convert");
  }
  if (!fs::is_directory(options.hf_path)) throw Error(options.hf_path + ": not a directory");
  nlohmann::json config = models::read_config(options.hf_path);
  const std::string config_path = options.hf_path + "/config.json";
  summary.model_type = models::config_value<std::string>(config, "model_type", "");
  if (summary.model_type.empty()) throw Error(config_path + ": missing field 'model_type'");
  const models::Architecture& arch = models::find_architecture(summary.model_type);
  summary.dtype = options.dtype ? *options.dtype : default_dtype(config);

  io::SafetensorsData source = io::load_model_weights(options.hf_path);
  nn::WeightMap weights(source.tensors, options.hf_path);
  for (const auto& [name, a] : weights.tensors()) summary.bytes_in += a.nbytes();
  arch.sanitize(config, weights);
  auto input_quantization = quant::read_quantization_config(config, config_path);
  quant::check_quantized_tensors(input_quantization, weights.tensors(), options.hf_path);
  {
    // Build the model once (lazily, nothing computed) so missing or misshapen tensors are
    // reported before anything is written.
    nn::WeightMap check(weights.tensors(), options.hf_path);
    models::create_model(arch, config, check, options.hf_path);
  }
  if (options.dequantize && !input_quantization) {
    throw Error(options.hf_path + ": --dequantize needs a quantized model (config.json has no quantization block)");
  }
  // Refuse a bad output location before any work.
  OutputDirectory out(options.mlx_path, options.hf_path, options.force);

  // The source tensor each output comes from, to release its pages after the last use.
  std::map<std::string, Array> originals = weights.tensors();
  std::map<std::string, Array> tensors;
  for (auto& [name, a] : weights.tensors()) {
    tensors[name] = is_floating(a.dtype()) ? astype(a, summary.dtype) : a;
  }
  weights = nn::WeightMap();
  std::optional<quant::QuantizationConfig> output_quantization = input_quantization;
  if (options.quantize) {
    quant::QuantizeReport report;
    output_quantization = quant::quantize_tensors(tensors, config, *options.quantize, &report);
    summary.quantized_modules = report.quantized_modules;
    summary.left_in_float = report.left_in_float;
    config["quantization"] = output_quantization->to_json();
    config["quantization_config"] = output_quantization->to_json();
  } else if (options.dequantize) {
    quant::dequantize_tensors(tensors, *input_quantization);
    output_quantization.reset();
    config.erase("quantization");
    config.erase("quantization_config");
  }
  summary.quantized = output_quantization.has_value();

  // Output order: the source's file order, a quantized module's scales and biases right
  // after its weight.
  io::NamedArrays named;
  std::set<std::string> placed;
  auto place = [&](const std::string& name) {
    auto it = tensors.find(name);
    if (it == tensors.end() || !placed.insert(name).second) return;
    named.emplace_back(name, it->second);
    summary.bytes_out += it->second.nbytes();
    if (name.ends_with(".weight")) {
      for (const char* part : {".scales", ".biases"}) {
        const std::string extra = module_of(name) + part;
        if (tensors.count(extra) && placed.insert(extra).second) {
          named.emplace_back(extra, tensors.at(extra));
          summary.bytes_out += tensors.at(extra).nbytes();
        }
      }
    }
  };
  for (const auto& name : source.names) place(name);
  for (const auto& [name, a] : tensors) place(name);
  summary.parameters = quant::logical_parameters(tensors, output_quantization);
  summary.tensors = static_cast<int64_t>(named.size());
  summary.bits_per_weight =
      summary.parameters > 0 ? 8.0 * static_cast<double>(summary.bytes_out) / static_cast<double>(summary.parameters) : 0.0;
  tensors.clear();

  // The last output written from each source tensor releases that tensor's pages.
  std::map<std::string, std::string> last_use;  // output name -> source name
  for (const auto& [name, a] : named) {
    std::string src = originals.count(name) ? name : module_of(name) + ".weight";
    if (originals.count(src)) {
      std::erase_if(last_use, [&](const auto& kv) { return kv.second == src; });
      last_use[name] = src;
    }
  }
  uint64_t done = 0;
  const uint64_t total = summary.bytes_out;
  out.fill([&](const std::string& dir) {
    io::save_sharded_streaming(dir, std::move(named), options.max_shard_bytes, {{"format", "mlx"}},
                               [&](const std::string& name, uint64_t bytes) {
                                 done += bytes;
                                 auto it = last_use.find(name);
                                 if (it != last_use.end()) {
                                   release_source_pages(originals.at(it->second));
                                   originals.erase(it->second);
                                 }
                                 if (progress) progress(done, total);
                               });
    originals.clear();
    source = io::SafetensorsData();
    io::write_file_atomically((fs::path(dir) / "config.json").string(), config.dump(4) + "\n");
    copy_tokenizer_files(options.hf_path, dir);
  });
  out.commit();
  summary.output = options.mlx_path;
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace lamina::convert
