// Default device selection.
#include "libcore/array/device.h"

#include <cstdlib>

#include "libcore/error.h"
#ifdef LAMINA_HAS_VULKAN
#include "libcore/backend/vulkan/instance.h"
#endif

namespace lamina::core {

namespace {
// The CPU unless LAMINA_DEVICE names another device.
Device& default_device_ref() {
  static Device d = [] {
    const char* env = std::getenv("LAMINA_DEVICE");
    return env && *env ? parse_device(env) : Device::cpu();
  }();
  return d;
}

#ifdef LAMINA_HAS_VULKAN
Device resolve_auto() {
  int preferred = vulkan::preferred_device();
  return preferred >= 0 ? Device::vulkan(preferred) : Device::cpu();
}

Device checked_vulkan(int index) {
  const auto& list = vulkan::devices();
  if (list.empty()) {
    throw Error("device vulkan:" + std::to_string(index) + " requested but " +
                vulkan::unavailable_reason());
  }
  if (index < 0 || index >= static_cast<int>(list.size())) {
    throw Error("device vulkan:" + std::to_string(index) + " does not exist (" +
                std::to_string(list.size()) + " Vulkan device(s); see `lamina devices`)");
  }
  return Device::vulkan(index);
}
#endif
}  // namespace

std::string Device::str() const {
  return type == Type::cpu ? "cpu" : "vulkan:" + std::to_string(index);
}

std::string auto_device_note() {
#ifdef LAMINA_HAS_VULKAN
  if (vulkan::preferred_device() >= 0) return "";
  const std::string& reason = vulkan::unavailable_reason();
  return (reason.empty() ? std::string("no Vulkan GPU found") : reason) + "; running on the CPU";
#else
  return "";
#endif
}

Device default_device() { return default_device_ref(); }

void set_default_device(const Device& device) { default_device_ref() = device; }

Device parse_device(const std::string& text) {
  if (text == "cpu") return Device::cpu();
#ifdef LAMINA_HAS_VULKAN
  if (text == "auto") return resolve_auto();
  if (text == "vulkan") {
    int preferred = vulkan::preferred_device();
    return checked_vulkan(preferred >= 0 ? preferred : 0);
  }
  if (text.rfind("vulkan:", 0) == 0) {
    size_t used = 0;
    int index = -1;
    try {
      index = std::stoi(text.substr(7), &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used > 0 && used == text.size() - 7) return checked_vulkan(index);
  }
#else
  if (text == "auto") return Device::cpu();
  if (text == "vulkan" || text.rfind("vulkan:", 0) == 0) {
    throw Error("device '" + text + "' requested but this lamina was built without Vulkan");
  }
#endif
  throw Error("unknown device '" + text + "' (expected auto, cpu, vulkan or vulkan:N)");
}

}  // namespace lamina::core
