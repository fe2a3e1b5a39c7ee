// `lamina inspect PATH [--json]`: what a safetensors file or a model directory holds —
// tensors, dtypes, sizes, parameter count, and the config.json summary of a directory.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli/command.h"
#include "libcore/error.h"
#include "libcore/io/safetensors.h"
#include "libcore/io/text_file.h"

namespace lamina::cli {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

constexpr const char* kConfigFile = "config.json";
// Keys of config.json worth a line; multimodal configs nest them under "text_config".
constexpr const char* kConfigKeys[] = {
    "model_type",        "architectures",           "num_hidden_layers",   "hidden_size",
    "intermediate_size", "num_attention_heads",     "num_key_value_heads", "head_dim",
    "vocab_size",        "max_position_embeddings", "tie_word_embeddings", "dtype",
    "torch_dtype"};

struct DtypeTotals {
  int64_t tensors = 0;
  int64_t parameters = 0;
  uint64_t bytes = 0;
};

struct Inventory {
  io::SafetensorsData weights;
  std::optional<Json> config;  // the whole config.json of a directory
  int64_t parameters = 0;
  uint64_t bytes = 0;
  std::map<std::string, DtypeTotals> dtypes;
  int64_t quantized_modules = 0;  // tensors named *.scales: MLX-quantized modules
};

Json read_config(const fs::path& path) {
  const std::string text = io::read_text_file(path.string());
  try {
    Json config = Json::parse(text);
    if (!config.is_object()) throw Error(path.string() + ": not a JSON object");
    return config;
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string() + ": invalid JSON: " + e.what());
  }
}

Inventory take_inventory(const std::string& path) {
  Inventory inv;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    fs::path config_path = fs::path(path) / kConfigFile;
    if (fs::exists(config_path, ec)) inv.config = read_config(config_path);
    inv.weights = io::load_model_weights(path);
  } else {
    inv.weights = io::load_safetensors(path);
  }
  for (const auto& name : inv.weights.names) {
    const auto& a = inv.weights.tensors.at(name);
    inv.parameters += a.size();
    inv.bytes += a.nbytes();
    auto& d = inv.dtypes[core::dtype_name(a.dtype())];
    d.tensors += 1;
    d.parameters += a.size();
    d.bytes += a.nbytes();
    if (name.ends_with(".scales")) inv.quantized_modules += 1;
  }
  return inv;
}

// The summary fields of config.json, looked up at the top level, then in text_config.
Json config_summary(const Json& config) {
  Json summary = Json::object();
  const Json* text = config.contains("text_config") && config["text_config"].is_object()
                         ? &config["text_config"]
                         : nullptr;
  for (const char* key : kConfigKeys) {
    if (config.contains(key) && !config[key].is_null()) {
      summary[key] = config[key];
    } else if (text != nullptr && text->contains(key) && !(*text)[key].is_null()) {
      summary[key] = (*text)[key];
    }
  }
  return summary;
}

// The quantization block mlx-lm writes ("quantization", repeated as "quantization_config").
std::optional<Json> quantization_block(const Inventory& inv) {
  if (!inv.config) return std::nullopt;
  for (const char* key : {"quantization", "quantization_config"}) {
    if (inv.config->contains(key) && (*inv.config)[key].is_object()) return (*inv.config)[key];
  }
  return std::nullopt;
}

Json to_json(const std::string& path, const Inventory& inv) {
  Json out = Json::object();
  out["path"] = path;
  out["files"] = inv.weights.files;
  out["metadata"] = inv.weights.metadata;
  out["config"] = inv.config ? config_summary(*inv.config) : Json(nullptr);
  auto quant = quantization_block(inv);
  out["quantization"] = quant ? *quant : Json(nullptr);
  out["quantized_modules"] = inv.quantized_modules;
  out["num_tensors"] = inv.weights.names.size();
  out["parameters"] = inv.parameters;
  out["total_bytes"] = inv.bytes;
  Json dtypes = Json::object();
  for (const auto& [name, d] : inv.dtypes) {
    dtypes[name] = {{"tensors", d.tensors}, {"parameters", d.parameters}, {"bytes", d.bytes}};
  }
  out["dtypes"] = std::move(dtypes);
  Json tensors = Json::array();
  for (const auto& name : inv.weights.names) {
    const auto& a = inv.weights.tensors.at(name);
    tensors.push_back({{"name", name},
                       {"dtype", core::dtype_name(a.dtype())},
                       {"shape", a.shape()},
                       {"parameters", a.size()},
                       {"bytes", a.nbytes()}});
  }
  out["tensors"] = std::move(tensors);
  return out;
}

// "8.38 MB": decimal units, as model hubs show sizes.
std::string human_bytes(uint64_t bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1000.0 && u < 4) {
    v /= 1000.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.2f %s", v, units[u]);
  return buf;
}

// "4.19M": parameter counts as model names quote them.
std::string human_count(int64_t n) {
  char buf[32];
  if (n >= 1'000'000'000)
    std::snprintf(buf, sizeof(buf), "%.2fB", n / 1e9);
  else if (n >= 1'000'000)
    std::snprintf(buf, sizeof(buf), "%.2fM", n / 1e6);
  else if (n >= 1'000)
    std::snprintf(buf, sizeof(buf), "%.2fK", n / 1e3);
  else
    std::snprintf(buf, sizeof(buf), "%lld", static_cast<long long>(n));
  return buf;
}

std::string json_value_text(const Json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

void print_config(std::ostream& os, const Inventory& inv) {
  Json summary = config_summary(*inv.config);
  os << "config:\n";
  for (const auto& [key, value] : summary.items()) {
    os << "  " << key << ": " << json_value_text(value) << "\n";
  }
  if (auto quant = quantization_block(inv)) {
    os << "quantization:";
    // Per-module overrides (objects or false keyed by module path) are counted, not listed.
    int overrides = 0;
    for (const auto& [key, value] : quant->items()) {
      if (value.is_object() || value.is_boolean())
        ++overrides;
      else
        os << " " << key << "=" << json_value_text(value);
    }
    if (overrides > 0) os << " (" << overrides << " per-module overrides)";
    os << "\n";
  }
}

void print_table(std::ostream& os, const std::string& path, const Inventory& inv) {
  os << "path: " << path << "\n";
  for (const auto& f : inv.weights.files) os << "file: " << f << "\n";
  for (const auto& [k, v] : inv.weights.metadata) os << "metadata: " << k << " = " << v << "\n";
  if (inv.config) print_config(os, inv);
  os << "\n";

  std::vector<std::array<std::string, 4>> rows;
  rows.push_back({"name", "dtype", "shape", "bytes"});
  for (const auto& name : inv.weights.names) {
    const auto& a = inv.weights.tensors.at(name);
    rows.push_back({name, core::dtype_name(a.dtype()), core::shape_string(a.shape()),
                    std::to_string(a.nbytes())});
  }
  std::array<size_t, 4> width{};
  for (const auto& row : rows) {
    for (size_t c = 0; c < 4; ++c) width[c] = std::max(width[c], row[c].size());
  }
  for (const auto& row : rows) {
    for (size_t c = 0; c < 3; ++c) os << row[c] << std::string(width[c] - row[c].size() + 2, ' ');
    os << std::string(width[3] - row[3].size(), ' ') << row[3] << "\n";
  }

  os << "\ntensors: " << inv.weights.names.size() << "\n";
  os << "parameters: " << inv.parameters << " (" << human_count(inv.parameters) << ")";
  if (inv.quantized_modules > 0) {
    os << "; raw element counts, " << inv.quantized_modules
       << " modules are quantized (packed uint32 weights, scales, biases)";
  }
  os << "\n";
  os << "bytes: " << inv.bytes << " (" << human_bytes(inv.bytes) << ")\n";
  os << "dtypes:\n";
  for (const auto& [name, d] : inv.dtypes) {
    os << "  " << name << ": " << d.tensors << " tensors, " << d.parameters << " parameters, "
       << d.bytes << " bytes\n";
  }
}

struct InspectOptions {
  std::string path;
  bool json = false;
};

CommandRunner setup_inspect(CLI::App& app) {
  auto options = std::make_shared<InspectOptions>();
  app.add_option("path", options->path, "a .safetensors file or a model directory")->required();
  app.add_flag("--json", options->json, "print one JSON object instead of a table");
  return [options]() {
    Inventory inv = take_inventory(options->path);
    // Everything is gathered before the first byte goes out: a failure prints nothing.
    std::ostringstream out;
    if (options->json) {
      out << to_json(options->path, inv).dump(2, ' ', false, Json::error_handler_t::replace)
          << "\n";
    } else {
      print_table(out, options->path, inv);
    }
    std::cout << out.str() << std::flush;
    return 0;
  };
}

}  // namespace
}  // namespace lamina::cli

LAMINA_COMMAND(inspect,
               "show the tensors, dtypes, sizes and config of a model or .safetensors file",
               lamina::cli::setup_inspect);
