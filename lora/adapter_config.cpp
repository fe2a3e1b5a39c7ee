// adapter_config.json reading and writing.
#include "lora/adapter_config.h"

#include <filesystem>

#include "libcore/error.h"
#include "libcore/io/atomic_file.h"
#include "libcore/io/json_integer.h"
#include "libcore/io/text_file.h"

namespace lamina::lora {

void validate(const AdapterConfig& c, const std::string& where) {
  if (c.fine_tune_type != "lora" && c.fine_tune_type != "dora" && c.fine_tune_type != "full") {
    throw Error(where + ": fine_tune_type '" + c.fine_tune_type + "' is not lora, dora or full");
  }
  if (c.num_layers == 0 || c.num_layers < -1) {
    throw Error(where + ": num_layers must be -1 (all) or positive, got " + std::to_string(c.num_layers));
  }
  if (c.fine_tune_type != "full" && c.rank <= 0) {
    throw Error(where + ": lora_parameters.rank must be positive, got " + std::to_string(c.rank));
  }
  if (c.dropout < 0 || c.dropout >= 1) {
    throw Error(where + ": lora_parameters.dropout must be in [0, 1), got " + std::to_string(c.dropout));
  }
}

nlohmann::ordered_json to_json(const AdapterConfig& c) {
  nlohmann::ordered_json j;
  j["fine_tune_type"] = c.fine_tune_type;
  j["num_layers"] = c.num_layers;
  nlohmann::ordered_json p;
  p["rank"] = c.rank;
  p["scale"] = c.scale;
  p["dropout"] = c.dropout;
  if (!c.keys.empty()) p["keys"] = c.keys;
  j["lora_parameters"] = p;
  return j;
}

AdapterConfig adapter_config_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw Error(where + ": expected a JSON object");
  AdapterConfig c;
  try {
    if (j.contains("fine_tune_type")) c.fine_tune_type = j["fine_tune_type"].get<std::string>();
    auto integer = [&](const nlohmann::json& v, const char* key) {
      auto i = io::json_integer<int>(v);
      if (!i) throw Error(where + ": '" + key + "' must be an integer, got " + v.dump());
      return *i;
    };
    if (j.contains("num_layers")) c.num_layers = integer(j["num_layers"], "num_layers");
    if (j.contains("lora_parameters")) {
      const auto& p = j["lora_parameters"];
      if (!p.is_object()) throw Error(where + ": lora_parameters must be an object");
      if (p.contains("rank")) c.rank = integer(p["rank"], "rank");
      if (p.contains("scale")) c.scale = p["scale"].get<float>();
      if (p.contains("dropout")) c.dropout = p["dropout"].get<float>();
      if (p.contains("keys") && !p["keys"].is_null()) c.keys = p["keys"].get<std::vector<std::string>>();
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + ": a field has the wrong type (" + std::string(e.what()) + ")");
  }
  validate(c, where);
  return c;
}

AdapterConfig read_adapter_config(const std::string& dir) {
  std::string path = (std::filesystem::path(dir) / kAdapterConfigFile).string();
  if (!std::filesystem::exists(path)) throw Error(path + ": not found (is " + dir + " an adapter directory?)");
  const std::string text = io::read_text_file(path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": not valid JSON (" + std::string(e.what()) + ")");
  }
  return adapter_config_from_json(j, path);
}

void write_adapter_config(const std::string& dir, const nlohmann::ordered_json& json) {
  io::AtomicFile f((std::filesystem::path(dir) / kAdapterConfigFile).string());
  f.write(json.dump(4) + "\n");
  f.commit();
}

}  // namespace lamina::lora
