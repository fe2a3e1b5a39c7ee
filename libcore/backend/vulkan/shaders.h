// The SPIR-V of kernels/vulkan/*.comp, compiled at build time and embedded in liblamina.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace lamina::core::vulkan {

struct ShaderCode {
  const uint32_t* words = nullptr;
  size_t bytes = 0;
};

// The compiled variant `name` ("<file>_<variant>", e.g. "binary_f16"); words is null if
// there is none. Defined in the generated vulkan_shaders.cpp.
ShaderCode find_shader(std::string_view name);

}  // namespace lamina::core::vulkan
