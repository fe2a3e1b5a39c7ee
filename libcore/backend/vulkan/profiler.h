// GPU timestamps, printed to stderr at exit; for finding what to make faster, off by
// default (timestamps cost a little). LAMINA_VULKAN_PROFILE=1: around every dispatch (the
// time each shader took, summed over the run, and how busy the GPU was between the first
// and last dispatch of each submission). LAMINA_VULKAN_PROFILE=levels: at every barrier
// only (what the dispatches between two barriers took together, summed by the shaders in
// them; each submission's span and the idle gap before it) - nothing inside a level is
// serialised by the timestamps, so the totals are the run's real GPU time.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "libcore/backend/vulkan/vulkan_api.h"

namespace lamina::core::vulkan {

class Context;

// The timestamps of one command buffer's dispatches (one per batch of the command stream).
class DispatchProfiler {
 public:
  // True when LAMINA_VULKAN_PROFILE is set to something other than 0.
  static bool requested();
  // True when it is set to `levels`.
  static bool levels();

  // Room for `max_dispatches` per command buffer; inactive when the device's compute queue
  // has no timestamps.
  DispatchProfiler(Context& ctx, uint32_t max_dispatches);
  bool active() const { return pool_ != VK_NULL_HANDLE; }

  void begin(VkCommandBuffer cb);  // at the start of recording
  void before_dispatch(VkCommandBuffer cb, const std::string& shader);
  void after_dispatch(VkCommandBuffer cb);
  // A copy recorded (named in the level it runs in).
  void copy(const char* what);
  // A barrier about to be recorded, or the end of the command buffer: closes a level.
  void boundary(VkCommandBuffer cb);
  // After the command buffer has completed: adds its times to the run's totals.
  void collect();

 private:
  void collect_levels();
  // The first stamps.size() timestamps of the pool; false if they cannot be read.
  bool read_stamps(std::vector<uint64_t>& stamps) const;

  Context& ctx_;
  VkQueryPool pool_ = VK_NULL_HANDLE;
  uint32_t capacity_ = 0;
  std::vector<std::string> shaders_;  // the recorded dispatches' shaders, in order
  // Levels mode: the commands of each closed level, and those of the open one.
  std::vector<std::string> levels_;
  std::vector<std::string> open_level_;
  bool opened_ = false;  // the stamp opening the first level is recorded
};

// With LAMINA_VULKAN_PROFILE=1, adds the host time of its scope, less that of the timers
// nested in it, to the run's total for `what` (printed with the GPU times): where the
// host's per-token time goes.
class HostTimer {
 public:
  explicit HostTimer(const char* what);
  ~HostTimer();
  HostTimer(const HostTimer&) = delete;
  HostTimer& operator=(const HostTimer&) = delete;

 private:
  const char* what_;
  std::chrono::steady_clock::time_point start_;
  HostTimer* parent_ = nullptr;
  double nested_seconds_ = 0;
};

// The CPU time (not wall time) of its scope, added to the calling thread's total of CPU
// time spent waiting for the GPU: a driver's fence wait may spin. Always on (two reads of
// the thread's CPU clock per wait).
class WaitCpuTimer {
 public:
  WaitCpuTimer();
  ~WaitCpuTimer();
  WaitCpuTimer(const WaitCpuTimer&) = delete;
  WaitCpuTimer& operator=(const WaitCpuTimer&) = delete;

 private:
  double start_;
};

// CPU seconds the calling thread has spent in WaitCpuTimer scopes (the command stream's
// fence waits): a benchmark subtracts them from the thread's CPU time to get the host's
// own work per token (graph building, recording, submitting), as opposed to its waiting.
double thread_wait_cpu_seconds();

}  // namespace lamina::core::vulkan
