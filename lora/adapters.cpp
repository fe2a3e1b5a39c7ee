// Adapter attachment, naming, loading and fusing.
#include "lora/adapters.h"

#include <cmath>
#include <filesystem>
#include <set>

#include "libcore/ops/ops.h"

namespace lamina::lora {

using namespace lamina::core;

namespace {

// "model.layers.12.self_attn.q_proj" -> 12 and "self_attn.q_proj"; -1 when not a block layer.
int block_index(const std::string& path, std::string& key) {
  const std::string prefix = "model.layers.";
  if (path.rfind(prefix, 0) != 0) return -1;
  size_t dot = path.find('.', prefix.size());
  if (dot == std::string::npos) return -1;
  key = path.substr(dot + 1);
  return std::stoi(path.substr(prefix.size(), dot - prefix.size()));
}

}  // namespace

std::vector<std::pair<std::string, nn::Linear*>> select_layers(models::Model& model, const AdapterConfig& config) {
  auto layers = model.linear_layers();
  if (layers.empty()) throw Error("this model type does not support adapters (it lists no Linear layers)");
  const int n = model.num_layers();
  const int first = config.num_layers < 0 ? 0 : std::max(0, n - config.num_layers);
  if (config.num_layers > n) {
    throw Error("num_layers is " + std::to_string(config.num_layers) + " but the model has only " +
                std::to_string(n) + " layers");
  }
  std::set<std::string> keys(config.keys.begin(), config.keys.end()), matched;
  std::vector<std::pair<std::string, nn::Linear*>> out;
  for (auto& [path, linear] : layers) {
    std::string key;
    int index = block_index(path, key);
    if (index < first) continue;
    if (!keys.empty() && !keys.count(key)) continue;
    matched.insert(key);
    out.emplace_back(path, linear);
  }
  for (const auto& k : keys) {
    if (!matched.count(k)) throw Error("lora_parameters.keys: '" + k + "' names no Linear layer of this model");
  }
  return out;
}

std::vector<TrainableParameter> attach_adapters(models::Model& model, const AdapterConfig& config, uint64_t seed,
                                                std::shared_ptr<DropoutContext> dropout) {
  validate(config, "adapter config");
  auto layers = select_layers(model, config);
  std::vector<TrainableParameter> params;
  if (config.fine_tune_type == "full") {
    for (auto& [path, linear] : layers) {
      if (linear->is_quantized()) {
        throw Error("full fine-tuning needs float weights, but '" + path + "' is quantized (use lora or dora)");
      }
      linear->set_weight_trainable(true);
      auto slots = linear->trainable_parameters();
      params.push_back({path + ".weight", slots[0]});
      if (slots.size() > 1) params.push_back({path + ".bias", slots[1]});
    }
    return params;
  }
  std::vector<Array> keys = random::split(random::key(seed), static_cast<int>(layers.size()));
  int index = 0;
  for (auto& [path, linear] : layers) {
    const int64_t out = linear->is_quantized() ? linear->quantized()->scales.shape(0) : linear->weight().shape(0);
    const int64_t in = linear->is_quantized() ? linear->quantized()->scales.shape(1) * linear->quantized()->group_size
                                              : linear->weight().shape(1);
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));
    Array a = random::uniform(keys[index], {in, config.rank}, -bound, bound);
    Array b = zeros({config.rank, out});
    std::shared_ptr<nn::Adapter> adapter;
    if (config.fine_tune_type == "dora") {
      Array m = weight_row_norms(*linear);
      eval({a, m});
      adapter = std::make_shared<DoraAdapter>(a, b, m, config.scale, config.dropout, dropout, index);
    } else {
      eval({a});
      adapter = std::make_shared<LoraAdapter>(a, b, config.scale, config.dropout, dropout, index);
    }
    linear->set_adapter(adapter);
    auto slots = adapter->parameters();
    params.push_back({path + ".lora_a", slots[0]});
    params.push_back({path + ".lora_b", slots[1]});
    if (slots.size() > 2) params.push_back({path + ".m", slots[2]});
    ++index;
  }
  return params;
}

void load_parameters(const std::vector<TrainableParameter>& params, const std::string& path) {
  io::SafetensorsData data = io::load_safetensors(path);
  std::set<std::string> used;
  for (const auto& p : params) {
    auto it = data.tensors.find(p.name);
    if (it == data.tensors.end()) {
      throw Error(path + ": tensor '" + p.name + "' is missing (was it trained with other adapter settings?)");
    }
    if (it->second.shape() != p.slot->shape()) {
      throw Error(path + ": tensor '" + p.name + "' has shape " + shape_string(it->second.shape()) + ", expected " +
                  shape_string(p.slot->shape()));
    }
    Array a = contiguous(astype(it->second, p.slot->dtype()));
    a = copy(a);  // own the data: the file may be replaced while training
    a.eval();
    *p.slot = a;
    used.insert(p.name);
  }
  for (const auto& name : data.names) {
    if (!used.count(name)) throw Error(path + ": tensor '" + name + "' is not a parameter of these adapters");
  }
}

io::NamedArrays named_parameters(const std::vector<TrainableParameter>& params) {
  io::NamedArrays out;
  for (const auto& p : params) out.emplace_back(p.name, *p.slot);
  return out;
}

AdapterConfig load_adapters(models::Model& model, const std::string& dir) {
  AdapterConfig config = read_adapter_config(dir);
  auto params = attach_adapters(model, config, 0);
  load_parameters(params, (std::filesystem::path(dir) / kAdapterWeightsFile).string());
  for (const auto& [path, linear] : model.linear_layers()) linear->set_weight_trainable(false);
  return config;
}

Array fused_weight(const nn::Linear& layer) {
  const auto& adapter = layer.adapter();
  if (auto dora = std::dynamic_pointer_cast<DoraAdapter>(adapter)) return dora->fused_weight(layer);
  Array w = astype(layer.dense_weight(), Dtype::float32);
  if (auto lora = std::dynamic_pointer_cast<LoraAdapter>(adapter)) {
    return w + astype(lora->delta_weight(), Dtype::float32);
  }
  return w;
}

}  // namespace lamina::lora
