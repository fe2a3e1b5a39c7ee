// The architecture registry, keyed by config.json's model_type; each models/<family>.cpp
// adds itself with one LAMINA_REGISTER_ARCHITECTURE line.
#pragma once

#include <string>
#include <vector>

#include "libcore/models/model.h"

namespace lamina::models {

void register_architecture(const std::string& model_type, Architecture architecture);
// Returns the architecture for model_type; throws listing the supported ones.
const Architecture& find_architecture(const std::string& model_type);
std::vector<std::string> supported_model_types();

struct ArchitectureRegistration {
  ArchitectureRegistration(const std::string& model_type, Architecture architecture) {
    register_architecture(model_type, architecture);
  }
};

}  // namespace lamina::models

#define LAMINA_REGISTER_ARCHITECTURE(NAME, SANITIZE, CREATE)                                 \
  static ::lamina::models::ArchitectureRegistration lamina_architecture_##NAME(#NAME, \
                                                                              {SANITIZE, CREATE})
