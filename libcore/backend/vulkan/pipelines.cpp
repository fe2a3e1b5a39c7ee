// Pipeline creation and the on-disk pipeline cache.
#include "libcore/backend/vulkan/pipelines.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <tuple>
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

size_t Pipelines::KeyHash::operator()(const KeyView& k) const {
  // FNV-1a over the constants, mixed into the name's hash.
  uint64_t h = std::hash<std::string_view>{}(k.shader) ^ (k.push_descriptors ? 0x9e3779b97f4a7c15ull : 0);
  for (uint32_t c : k.constants) h = (h ^ c) * 0x100000001b3ull;
  return static_cast<size_t>(h);
}

bool Pipelines::KeyEqual::operator()(const KeyView& a, const KeyView& b) const {
  return a.push_descriptors == b.push_descriptors && a.shader == b.shader &&
         std::equal(a.constants.begin(), a.constants.end(), b.constants.begin(), b.constants.end());
}

std::pair<VkDescriptorSetLayout, VkPipelineLayout> Pipelines::layouts(uint32_t bindings,
                                                                      bool push_descriptors) {
  auto it = layouts_.find({bindings, push_descriptors});
  if (it != layouts_.end()) return it->second;
  std::vector<VkDescriptorSetLayoutBinding> b(bindings);
  for (uint32_t i = 0; i < bindings; ++i) {
    b[i].binding = i;
    b[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    b[i].descriptorCount = 1;
    b[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  }
  VkDescriptorSetLayoutCreateInfo ci{};
  ci.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO;
  if (push_descriptors) ci.flags = VK_DESCRIPTOR_SET_LAYOUT_CREATE_PUSH_DESCRIPTOR_BIT_KHR;
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
  return layouts_[{bindings, push_descriptors}] = {set, layout};
}

const Pipeline& Pipelines::get(std::string_view shader, uint32_t bindings,
                               std::span<const uint32_t> constants) {
  const KeyView key{shader, constants, ctx_.push_descriptors()};
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = pipelines_.find(key);
  if (it != pipelines_.end()) return it->second;
  return create(key, bindings);
}

const Pipeline& Pipelines::create(const KeyView& key, uint32_t bindings) {
  const std::string shader(key.shader);
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
  p.push_descriptors = key.push_descriptors;
  std::tie(p.set_layout, p.layout) = layouts(bindings, key.push_descriptors);
  const std::span<const uint32_t> constants = key.constants;
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
  Key owned{shader, std::vector<uint32_t>(constants.begin(), constants.end()), key.push_descriptors};
  return pipelines_.emplace(std::move(owned), p).first->second;
}

}  // namespace lamina::core::vulkan
