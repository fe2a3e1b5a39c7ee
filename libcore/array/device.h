// Device: where a primitive runs (the CPU, or the N-th Vulkan GPU).
#pragma once

#include <string>

namespace lamina::core {

struct Device {
  enum class Type { cpu, vulkan };
  Type type = Type::cpu;
  int index = 0;

  static Device cpu() { return {Type::cpu, 0}; }
  static Device vulkan(int i = 0) { return {Type::vulkan, i}; }
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  std::string str() const;
};

// The device new arrays are built for (the CPU unless changed).
Device default_device();
void set_default_device(const Device& device);
// Parses "cpu", "vulkan", "vulkan:N" or "auto"; throws lamina::Error otherwise.
Device parse_device(const std::string& text);
// Why "auto" runs on the CPU in a build with Vulkan (no driver, no GPU); "" when it picks a
// GPU or Vulkan is not built. The CLI prints it unless asked to be quiet.
std::string auto_device_note();

}  // namespace lamina::core
