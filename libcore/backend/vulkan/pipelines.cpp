// Pipeline creation and the on-disk pipeline cache.
#include "libcore/backend/vulkan/pipelines.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <unistd.h>

#include "libcore/backend/vulkan/context.h"
#include "libcore/backend/vulkan/shaders.h"
#include "libcore/error.h"

namespace lamina::core::vulkan {

Pipelines::Pipelines(Context& ctx) : ctx_(ctx) {
  std::vector<char> data;
  std::string path = cache_path();
  if (!path.empty()) {
    std::ifstream f(path, std::ios::binary);
    if (f) data.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  VkPipelineCacheCreateInfo ci{};
  ci.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO;
  // The driver checks the header (vendor, device, cache UUID) and ignores a stale cache.
  ci.initialDataSize = data.size();
  ci.pInitialData = data.empty() ? nullptr : data.data();
  if (api().vkCreatePipelineCache(ctx.device(), &ci, nullptr, &cache_) != VK_SUCCESS) {
    ci.initialDataSize = 0;
    ci.pInitialData = nullptr;
    check(api().vkCreatePipelineCache(ctx.device(), &ci, nullptr, &cache_), "vkCreatePipelineCache");
  }
}

std::string Pipelines::cache_path() const {
  if (const char* off = std::getenv("LAMINA_NO_PIPELINE_CACHE"); off && *off) return "";
  std::filesystem::path dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    dir = std::filesystem::path(xdg) / "lamina";
  } else if (const char* home = std::getenv("HOME"); home && *home) {
    dir = std::filesystem::path(home) / ".cache" / "lamina";
  } else {
    return "";
  }
  char id[64];
  std::snprintf(id, sizeof(id), "vulkan-pipelines-%04x-%d.bin", ctx_.info().vendor_id, ctx_.index());
  return (dir / id).string();
}

void Pipelines::save() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!dirty_) return;
  dirty_ = false;
  std::string path = cache_path();
  if (path.empty()) return;
  size_t size = 0;
  if (api().vkGetPipelineCacheData(ctx_.device(), cache_, &size, nullptr) != VK_SUCCESS) return;
  std::vector<char> data(size);
  if (api().vkGetPipelineCacheData(ctx_.device(), cache_, &size, data.data()) != VK_SUCCESS) return;
  // A cache that cannot be written only costs start-up time: never fail a run for it.
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::string tmp = path + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary);
    if (!f) return;
    f.write(data.data(), static_cast<std::streamsize>(size));
    if (!f) return;
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) std::filesystem::remove(tmp, ec);
}

VkDescriptorSetLayout Pipelines::set_layout(uint32_t bindings) {
  auto it = layouts_.find(bindings);
  if (it != layouts_.end()) return it->second.first;
  std::vector<VkDescriptorSetLayoutBinding> b(bindings);
  for (uint32_t i = 0; i < bindings; ++i) {
    b[i].binding = i;
    b[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    b[i].descriptorCount = 1;
    b[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  }
  VkDescriptorSetLayoutCreateInfo ci{};
  ci.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO;
  ci.bindingCount = bindings;
  ci.pBindings = b.data();
  VkDescriptorSetLayout set = VK_NULL_HANDLE;
  check(api().vkCreateDescriptorSetLayout(ctx_.device(), &ci, nullptr, &set),
        "vkCreateDescriptorSetLayout");
  VkPipelineLayoutCreateInfo pi{};
  pi.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO;
  pi.setLayoutCount = 1;
  pi.pSetLayouts = &set;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  check(api().vkCreatePipelineLayout(ctx_.device(), &pi, nullptr, &layout), "vkCreatePipelineLayout");
  layouts_[bindings] = {set, layout};
  return set;
}

const Pipeline& Pipelines::get(const std::string& shader, uint32_t bindings,
                               const std::vector<uint32_t>& constants) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto key = std::make_pair(shader, constants);
  auto it = pipelines_.find(key);
  if (it != pipelines_.end()) return it->second;

  VkShaderModule module = VK_NULL_HANDLE;
  if (auto m = modules_.find(shader); m != modules_.end()) {
    module = m->second;
  } else {
    ShaderCode code = find_shader(shader);
    if (code.words == nullptr) throw Error("vulkan: no compiled shader variant '" + shader + "'");
    VkShaderModuleCreateInfo ci{};
    ci.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO;
    ci.codeSize = code.bytes;
    ci.pCode = code.words;
    check(api().vkCreateShaderModule(ctx_.device(), &ci, nullptr, &module), "vkCreateShaderModule");
    modules_[shader] = module;
  }

  Pipeline p;
  p.bindings = bindings;
  p.shader = shader;
  p.set_layout = set_layout(bindings);
  p.layout = layouts_[bindings].second;
  std::vector<VkSpecializationMapEntry> entries(constants.size());
  for (size_t i = 0; i < constants.size(); ++i) {
    entries[i].constantID = static_cast<uint32_t>(i);
    entries[i].offset = static_cast<uint32_t>(i * sizeof(uint32_t));
    entries[i].size = sizeof(uint32_t);
  }
  VkSpecializationInfo spec{};
  spec.mapEntryCount = static_cast<uint32_t>(entries.size());
  spec.pMapEntries = entries.data();
  spec.dataSize = constants.size() * sizeof(uint32_t);
  spec.pData = constants.data();
  VkComputePipelineCreateInfo ci{};
  ci.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO;
  ci.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
  ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  ci.stage.module = module;
  ci.stage.pName = "main";
  ci.stage.pSpecializationInfo = constants.empty() ? nullptr : &spec;
  ci.layout = p.layout;
  check(api().vkCreateComputePipelines(ctx_.device(), cache_, 1, &ci, nullptr, &p.pipeline),
        ("vkCreateComputePipelines(" + shader + ")").c_str());
  dirty_ = true;
  return pipelines_.emplace(key, p).first->second;
}

}  // namespace lamina::core::vulkan
