// Pipelines: compute pipelines by (shader variant, specialisation constants), created on
// first use through a VkPipelineCache that is persisted under ~/.cache/lamina.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
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
  // Its set layout is for vkCmdPushDescriptorSetKHR (else sets come from a pool).
  bool push_descriptors = false;
};

class Pipelines {
 public:
  explicit Pipelines(Context& ctx);
  // The pipeline of shader variant `shader` with `bindings` storage buffers and the given
  // specialisation constants (constant_id 0, 1, ...; id 0 is the workgroup size by
  // convention), made for the context's descriptor path (Context::push_descriptors).
  // Throws lamina::Error if the variant is not embedded. Called for every dispatch: a hash
  // lookup that copies nothing.
  const Pipeline& get(std::string_view shader, uint32_t bindings,
                      std::initializer_list<uint32_t> constants) {
    return get(shader, bindings, std::span<const uint32_t>(constants.begin(), constants.size()));
  }
  const Pipeline& get(std::string_view shader, uint32_t bindings,
                      const std::vector<uint32_t>& constants) {
    return get(shader, bindings, std::span<const uint32_t>(constants));
  }
  const Pipeline& get(std::string_view shader, uint32_t bindings,
                      std::span<const uint32_t> constants);
  // Writes the pipeline cache to disk if pipelines were created since the last save.
  void save();

 private:
  // What a pipeline is looked up by; Key owns its parts, KeyView borrows the caller's.
  struct KeyView {
    std::string_view shader;
    std::span<const uint32_t> constants;
    bool push_descriptors;
  };
  struct Key {
    std::string shader;
    std::vector<uint32_t> constants;
    bool push_descriptors;
    operator KeyView() const { return {shader, constants, push_descriptors}; }
  };
  // Hash and equality over both, so that find() takes a KeyView (no key is built).
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(const KeyView& k) const;
  };
  struct KeyEqual {
    using is_transparent = void;
    bool operator()(const KeyView& a, const KeyView& b) const;
  };

  const Pipeline& create(const KeyView& key, uint32_t bindings);
  // The set layout (a push-descriptor one when push_descriptors) and pipeline layout for
  // `bindings` storage buffers.
  std::pair<VkDescriptorSetLayout, VkPipelineLayout> layouts(uint32_t bindings, bool push_descriptors);
  std::string cache_path() const;

  Context& ctx_;
  std::mutex mutex_;
  VkPipelineCache cache_ = VK_NULL_HANDLE;
  bool dirty_ = false;
  std::map<std::string, VkShaderModule> modules_;
  std::map<std::pair<uint32_t, bool>, std::pair<VkDescriptorSetLayout, VkPipelineLayout>> layouts_;
  std::unordered_map<Key, Pipeline, KeyHash, KeyEqual> pipelines_;
};

}  // namespace lamina::core::vulkan
