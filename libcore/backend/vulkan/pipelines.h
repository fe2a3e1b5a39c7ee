// Pipelines: compute pipelines by (shader variant, specialisation constants), created on
// first use through a VkPipelineCache that is persisted under ~/.cache/lamina.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "libcore/backend/vulkan/vulkan_api.h"

namespace lamina::core::vulkan {

class Context;

struct Pipeline {
  VkPipeline pipeline = VK_NULL_HANDLE;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
  uint32_t bindings = 0;  // binding 0 is the parameter block, 1.. the arrays
  std::string shader;     // the variant's name (for LAMINA_VULKAN_PROFILE)
};

class Pipelines {
 public:
  explicit Pipelines(Context& ctx);
  // The pipeline of shader variant `shader` with `bindings` storage buffers and the given
  // specialisation constants (constant_id 0, 1, ...; id 0 is the workgroup size by
  // convention). Throws lamina::Error if the variant is not embedded.
  const Pipeline& get(const std::string& shader, uint32_t bindings,
                      const std::vector<uint32_t>& constants);
  // Writes the pipeline cache to disk if pipelines were created since the last save.
  void save();

 private:
  VkDescriptorSetLayout set_layout(uint32_t bindings);
  std::string cache_path() const;

  Context& ctx_;
  std::mutex mutex_;
  VkPipelineCache cache_ = VK_NULL_HANDLE;
  bool dirty_ = false;
  std::map<std::string, VkShaderModule> modules_;
  std::map<uint32_t, std::pair<VkDescriptorSetLayout, VkPipelineLayout>> layouts_;
  std::map<std::pair<std::string, std::vector<uint32_t>>, Pipeline> pipelines_;
};

}  // namespace lamina::core::vulkan
