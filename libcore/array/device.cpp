// Default device selection.
#include "libcore/array/device.h"

#include "libcore/error.h"

namespace lamina::core {

namespace {
Device& default_device_ref() {
  static Device d = Device::cpu();
  return d;
}
}  // namespace

std::string Device::str() const {
  return type == Type::cpu ? "cpu" : "vulkan:" + std::to_string(index);
}

Device default_device() { return default_device_ref(); }

void set_default_device(const Device& device) { default_device_ref() = device; }

Device parse_device(const std::string& text) {
  if (text == "cpu" || text == "auto") return Device::cpu();
  if (text == "vulkan") return Device::vulkan(0);
  if (text.rfind("vulkan:", 0) == 0) {
    try {
      return Device::vulkan(std::stoi(text.substr(7)));
    } catch (const std::exception&) {
    }
  }
  throw Error("unknown device '" + text + "' (expected auto, cpu, vulkan or vulkan:N)");
}

}  // namespace lamina::core
