// The architecture registry.
#include "libcore/models/registry.h"

#include <map>

namespace lamina::models {

namespace {
std::map<std::string, Architecture>& registry() {
  static std::map<std::string, Architecture> r;
  return r;
}
}  // namespace

void register_architecture(const std::string& model_type, Architecture architecture) {
  registry()[model_type] = architecture;
}

std::vector<std::string> supported_model_types() {
  std::vector<std::string> out;
  for (const auto& [name, a] : registry()) out.push_back(name);
  return out;
}

const Architecture& find_architecture(const std::string& model_type) {
  auto it = registry().find(model_type);
  if (it == registry().end()) {
    std::string list;
    for (const auto& name : supported_model_types()) list += (list.empty() ? "" : ", ") + name;
    throw Error("config.json: model_type '" + model_type + "' is not supported (supported: " + list + ")");
  }
  return it->second;
}

}  // namespace lamina::models
