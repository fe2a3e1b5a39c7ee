// lamina fuse: adapters merged into the model's tensors.
#include "lora/fuse.h"

#include <filesystem>

#include "libcore/convert/convert.h"
#include "libcore/convert/output_dir.h"
#include "libcore/io/atomic_file.h"
#include "libcore/io/safetensors.h"
#include "libcore/models/loader.h"
#include "libcore/models/registry.h"
#include "libcore/ops/ops.h"
#include "lora/adapters.h"
#include "quant/quantization_config.h"
#include "quant/quantize_model.h"

namespace lamina::lora {

using namespace lamina::core;
namespace fs = std::filesystem;

FuseSummary fuse_model(const FuseOptions& options) {
  models::LoadedModel loaded = models::load_model(options.model_dir);
  AdapterConfig config = load_adapters(*loaded.model, options.adapter_dir);
  // The checkpoint's tensors as the model loads them; adapted layers are replaced below.
  nn::WeightMap weights(io::load_model_weights(options.model_dir).tensors, options.model_dir);
  models::find_architecture(loaded.config.value("model_type", "")).sanitize(loaded.config, weights);
  auto& tensors = weights.tensors();

  FuseSummary summary;
  for (auto& [path, linear] : select_layers(*loaded.model, config)) {
    Array fused = fused_weight(*linear);
    if (linear->is_quantized()) {
      const auto& q = *linear->quantized();
      Array w = astype(fused, q.scales.dtype());
      if (options.dequantize) {
        tensors[path + ".weight"] = w;
        tensors.erase(path + ".scales");
        tensors.erase(path + ".biases");
      } else {
        QuantizedArrays requantized = quantize(w, q.group_size, q.bits);
        tensors[path + ".weight"] = requantized.weight;
        tensors[path + ".scales"] = requantized.scales;
        tensors[path + ".biases"] = requantized.biases;
      }
    } else {
      tensors[path + ".weight"] = astype(fused, linear->weight().dtype());
      if (config.fine_tune_type == "full" && linear->bias()) tensors[path + ".bias"] = *linear->bias();
    }
    ++summary.fused_layers;
  }

  nlohmann::json out_config = loaded.config;
  auto quantization = quant::read_quantization_config(loaded.config, options.model_dir + "/config.json");
  if (quantization && options.dequantize) {
    quant::dequantize_tensors(tensors, *quantization);
    out_config.erase("quantization");
    out_config.erase("quantization_config");
  }
  summary.quantized_output = quantization && !options.dequantize;

  convert::OutputDirectory out(options.save_path, options.model_dir, options.force);
  io::NamedArrays named(tensors.begin(), tensors.end());
  out.fill([&](const std::string& dir) {
    io::save_sharded_streaming(dir, std::move(named), io::kDefaultMaxShardBytes, {{"format", "mlx"}});
    io::write_file_atomically((fs::path(dir) / "config.json").string(), out_config.dump(4) + "\n");
    convert::copy_tokenizer_files(options.model_dir, dir);
  });
  out.commit();
  return summary;
}

}  // namespace lamina::lora
