// `lamina devices [--json]`: the devices lamina can run on — the CPU and each Vulkan device
// with its type, driver, memory, subgroup size and fp16/int8/bf16/cooperative-matrix
// support — and which one `--device auto` picks.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "cli/command.h"
#include "libcore/array/device.h"
#ifdef LAMINA_HAS_VULKAN
#include "libcore/backend/vulkan/instance.h"
#endif

namespace lamina::cli {
namespace {

using Json = nlohmann::ordered_json;

std::string cpu_name() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "CPU";
}

uint64_t host_memory_bytes() {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : 0;
}

std::string gib(uint64_t bytes) {
  std::ostringstream s;
  s.precision(1);
  s << std::fixed << static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0) << " GiB";
  return s.str();
}

Json describe() {
  Json out;
  Json cpu;
  cpu["device"] = "cpu";
  cpu["name"] = cpu_name();
  cpu["type"] = "cpu";
  cpu["threads"] = std::thread::hardware_concurrency();
  cpu["memory_bytes"] = host_memory_bytes();
  out["devices"] = Json::array({cpu});
#ifdef LAMINA_HAS_VULKAN
  namespace vk = core::vulkan;
  for (const auto& d : vk::devices()) {
    Json j;
    j["device"] = "vulkan:" + std::to_string(d.index);
    j["name"] = d.name;
    j["type"] = d.type;
    j["driver"] = d.driver;
    j["vulkan_api"] = d.api_version;
    j["memory_bytes"] = d.device_local_bytes;
    j["subgroup_size"] = d.subgroup_size;
    j["float16"] = d.float16;
    j["int8"] = d.int8;
    j["bfloat16"] = d.bfloat16;
    j["cooperative_matrix"] = d.cooperative_matrix_khr ? "khr" : d.cooperative_matrix_nv ? "nv" : "none";
    j["usable"] = d.usable;
    out["devices"].push_back(j);
  }
  out["vulkan"] = vk::unavailable_reason().empty() ? "available" : vk::unavailable_reason();
  int preferred = vk::preferred_device();
  out["auto"] = preferred >= 0 ? "vulkan:" + std::to_string(preferred) : "cpu";
#else
  out["vulkan"] = "not built (configure with -DLAMINA_VULKAN=ON)";
  out["auto"] = "cpu";
#endif
  return out;
}

void print_table(std::ostream& os, const Json& info) {
  for (const auto& d : info["devices"]) {
    os << d["device"].get<std::string>() << ": " << d["name"].get<std::string>() << "\n";
    if (d["type"] == "cpu" && d.contains("threads")) {
      os << "  type: cpu, " << d["threads"].get<unsigned>() << " threads, "
         << gib(d["memory_bytes"].get<uint64_t>()) << " memory\n";
      continue;
    }
    os << "  type: " << d["type"].get<std::string>() << ", driver: " << d["driver"].get<std::string>()
       << ", Vulkan " << d["vulkan_api"].get<std::string>() << "\n";
    os << "  memory: " << gib(d["memory_bytes"].get<uint64_t>())
       << ", subgroup size: " << d["subgroup_size"].get<unsigned>() << "\n";
    auto yes = [](const Json& v) { return v.get<bool>() ? "yes" : "no"; };
    os << "  float16: " << yes(d["float16"]) << ", int8: " << yes(d["int8"])
       << ", bfloat16: " << yes(d["bfloat16"])
       << ", cooperative matrix: " << d["cooperative_matrix"].get<std::string>() << "\n";
    if (!d["usable"].get<bool>()) os << "  not usable: lamina needs Vulkan 1.2 with 8/16-bit storage\n";
  }
  if (info["vulkan"] != "available") os << "vulkan: " << info["vulkan"].get<std::string>() << "\n";
  os << "--device auto picks: " << info["auto"].get<std::string>() << "\n";
}

struct DevicesOptions {
  bool json = false;
};

CommandRunner setup_devices(CLI::App& app) {
  auto options = std::make_shared<DevicesOptions>();
  app.add_flag("--json", options->json, "print one JSON object instead of a table");
  return [options]() {
    Json info = describe();
    if (options->json) {
      std::cout << info.dump(2) << "\n";
    } else {
      print_table(std::cout, info);
    }
    return 0;
  };
}

}  // namespace
}  // namespace lamina::cli

LAMINA_COMMAND(devices, "list the CPU and the Vulkan GPUs lamina can run on", lamina::cli::setup_devices);
