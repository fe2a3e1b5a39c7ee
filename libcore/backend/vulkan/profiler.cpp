// Dispatch timestamps and the run's per-shader summary.
#include "libcore/backend/vulkan/profiler.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <mutex>

#include "libcore/backend/vulkan/context.h"

namespace lamina::core::vulkan {

namespace {

struct Tally {
  uint64_t count = 0;  // dispatches, or calls of a host scope
  double seconds = 0;
};

struct Totals {
  std::mutex mutex;
  std::map<std::string, Tally> shaders;
  std::map<std::string, Tally> host;  // HostTimer scopes
  double busy_seconds = 0;  // sum of the dispatches' times
  double span_seconds = 0;  // first dispatch start to last dispatch end, per submission
  uint64_t submissions = 0;
  // Levels mode.
  std::map<std::string, Tally> levels;  // by the commands in a level
  std::vector<double> gaps;             // idle seconds before each submission after the first
  uint64_t last_end = 0;                // the previous submission's last timestamp
  bool have_last = false;
};

Totals& totals() {
  static Totals* t = new Totals;  // read at exit, after static destructors may have run
  return *t;
}

// "a + b x2": the commands of a level, each with its count, in name order.
std::string level_name(std::vector<std::string> commands) {
  if (commands.empty()) return "(empty)";
  std::sort(commands.begin(), commands.end());
  std::string name;
  for (size_t i = 0; i < commands.size();) {
    size_t j = i;
    while (j < commands.size() && commands[j] == commands[i]) ++j;
    if (!name.empty()) name += " + ";
    name += commands[i];
    if (j - i > 1) name += " x" + std::to_string(j - i);
    i = j;
  }
  return name;
}

void print_levels(Totals& t) {
  std::vector<std::pair<std::string, Tally>> rows(t.levels.begin(), t.levels.end());
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.second.seconds > b.second.seconds; });
  uint64_t levels = 0;
  for (const auto& [name, s] : rows) levels += s.count;
  std::vector<double> gaps = t.gaps;
  std::sort(gaps.begin(), gaps.end());
  double gap_sum = 0;
  for (double g : gaps) gap_sum += g;
  const double submissions = static_cast<double>(std::max<uint64_t>(t.submissions, 1));
  std::fprintf(stderr,
               "lamina: vulkan profile: %llu submissions, %.1f levels and %.3f ms of GPU time each (first "
               "to last barrier); idle before each: mean %.3f ms, median %.3f ms, total %.3f ms\n",
               static_cast<unsigned long long>(t.submissions), static_cast<double>(levels) / submissions,
               t.span_seconds * 1e3 / submissions,
               gap_sum * 1e3 / static_cast<double>(std::max<size_t>(gaps.size(), 1)),
               gaps.empty() ? 0.0 : gaps[gaps.size() / 2] * 1e3, gap_sum * 1e3);
  std::fprintf(stderr, "lamina: vulkan profile: %10s %12s %10s  %s\n", "levels", "total ms", "mean us",
               "commands between two barriers");
  for (const auto& [name, s] : rows) {
    std::fprintf(stderr, "lamina: vulkan profile: %10llu %12.3f %10.2f  %s\n",
                 static_cast<unsigned long long>(s.count), s.seconds * 1e3,
                 s.seconds * 1e6 / static_cast<double>(std::max<uint64_t>(s.count, 1)), name.c_str());
  }
}

void print_totals() {
  Totals& t = totals();
  std::lock_guard<std::mutex> lock(t.mutex);
  if (DispatchProfiler::levels()) {
    print_levels(t);
    return;
  }
  std::vector<std::pair<std::string, Tally>> rows(t.shaders.begin(), t.shaders.end());
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.second.seconds > b.second.seconds; });
  std::fprintf(stderr,
               "lamina: vulkan profile: %llu submissions, GPU busy %.3f ms of %.3f ms between their "
               "first and last dispatch\n",
               static_cast<unsigned long long>(t.submissions), t.busy_seconds * 1e3, t.span_seconds * 1e3);
  std::fprintf(stderr, "lamina: vulkan profile: %-36s %10s %12s %10s\n", "shader", "dispatches", "total ms",
               "mean us");
  for (const auto& [name, s] : rows) {
    std::fprintf(stderr, "lamina: vulkan profile: %-36s %10llu %12.3f %10.2f\n", name.c_str(),
                 static_cast<unsigned long long>(s.count), s.seconds * 1e3,
                 s.seconds * 1e6 / static_cast<double>(std::max<uint64_t>(s.count, 1)));
  }
  std::fprintf(stderr, "lamina: vulkan profile: %-36s %10s %12s %10s\n", "host (this thread)", "calls", "total ms",
               "mean us");
  for (const auto& [name, s] : t.host) {
    std::fprintf(stderr, "lamina: vulkan profile: %-36s %10llu %12.3f %10.2f\n", name.c_str(),
                 static_cast<unsigned long long>(s.count), s.seconds * 1e3,
                 s.seconds * 1e6 / static_cast<double>(std::max<uint64_t>(s.count, 1)));
  }
}

thread_local HostTimer* t_innermost = nullptr;  // the HostTimer scope this thread is in

void register_printing() {
  static std::once_flag registered;
  std::call_once(registered, [] { std::atexit(print_totals); });
}

}  // namespace

HostTimer::HostTimer(const char* what) : what_(DispatchProfiler::requested() ? what : nullptr) {
  if (!what_) return;
  parent_ = t_innermost;
  t_innermost = this;
  start_ = std::chrono::steady_clock::now();
}

HostTimer::~HostTimer() {
  if (!what_) return;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  t_innermost = parent_;
  if (parent_) parent_->nested_seconds_ += elapsed;
  const double seconds = elapsed - nested_seconds_;
  register_printing();
  Totals& t = totals();
  std::lock_guard<std::mutex> lock(t.mutex);
  Tally& s = t.host[what_];
  s.count += 1;
  s.seconds += seconds;
}

bool DispatchProfiler::requested() {
  static const bool on = [] {
    const char* v = std::getenv("LAMINA_VULKAN_PROFILE");
    return v && *v && std::strcmp(v, "0") != 0;
  }();
  return on;
}

bool DispatchProfiler::levels() {
  static const bool on = [] {
    const char* v = std::getenv("LAMINA_VULKAN_PROFILE");
    return v && std::strcmp(v, "levels") == 0;
  }();
  return on;
}

DispatchProfiler::DispatchProfiler(Context& ctx, uint32_t max_dispatches) : ctx_(ctx) {
  if (!requested() || !ctx.timestamps()) return;
  capacity_ = 2 * max_dispatches;
  VkQueryPoolCreateInfo ci{};
  ci.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO;
  ci.queryType = VK_QUERY_TYPE_TIMESTAMP;
  ci.queryCount = capacity_;
  check(api().vkCreateQueryPool(ctx.device(), &ci, nullptr, &pool_), "vkCreateQueryPool");
  register_printing();
}

void DispatchProfiler::begin(VkCommandBuffer cb) {
  if (!active()) return;
  api().vkCmdResetQueryPool(cb, pool_, 0, capacity_);
  shaders_.clear();
  levels_.clear();
  open_level_.clear();
  opened_ = false;
}

void DispatchProfiler::boundary(VkCommandBuffer cb) {
  // The first stamp opens the first level; each later one closes the open level.
  if (!active() || !levels() || levels_.size() + 1 >= capacity_) return;
  api().vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, pool_,
                            static_cast<uint32_t>(opened_ ? levels_.size() + 1 : 0));
  if (opened_) levels_.push_back(level_name(std::move(open_level_)));
  opened_ = true;
  open_level_.clear();
}

void DispatchProfiler::copy(const char* what) {
  if (active() && levels()) open_level_.push_back(what);
}

void DispatchProfiler::before_dispatch(VkCommandBuffer cb, const std::string& shader) {
  if (!active()) return;
  if (levels()) {
    open_level_.push_back(shader);
    return;
  }
  if (2 * (shaders_.size() + 1) > capacity_) return;
  api().vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, pool_,
                            static_cast<uint32_t>(2 * shaders_.size()));
  shaders_.push_back(shader);
}

void DispatchProfiler::after_dispatch(VkCommandBuffer cb) {
  if (!active() || levels() || shaders_.empty()) return;
  api().vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, pool_,
                            static_cast<uint32_t>(2 * shaders_.size() - 1));
}

bool DispatchProfiler::read_stamps(std::vector<uint64_t>& stamps) const {
  return api().vkGetQueryPoolResults(ctx_.device(), pool_, 0, static_cast<uint32_t>(stamps.size()),
                                     stamps.size() * sizeof(uint64_t), stamps.data(), sizeof(uint64_t),
                                     VK_QUERY_RESULT_64_BIT) == VK_SUCCESS;
}

void DispatchProfiler::collect_levels() {
  if (levels_.empty()) return;
  std::vector<uint64_t> stamps(levels_.size() + 1);
  if (!read_stamps(stamps)) return;
  const double period = ctx_.limits().timestampPeriod * 1e-9;  // seconds per tick
  Totals& t = totals();
  std::lock_guard<std::mutex> lock(t.mutex);
  for (size_t i = 0; i < levels_.size(); ++i) {
    Tally& s = t.levels[levels_[i]];
    s.count += 1;
    s.seconds += static_cast<double>(std::max(stamps[i + 1], stamps[i]) - stamps[i]) * period;
  }
  if (t.have_last) {
    t.gaps.push_back(static_cast<double>(std::max(stamps.front(), t.last_end) - t.last_end) * period);
  }
  t.last_end = std::max(stamps.back(), stamps.front());
  t.have_last = true;
  t.span_seconds += static_cast<double>(t.last_end - stamps.front()) * period;
  t.submissions += 1;
}

void DispatchProfiler::collect() {
  if (!active()) return;
  if (levels()) {
    collect_levels();
    levels_.clear();
    open_level_.clear();
    opened_ = false;
    return;
  }
  if (shaders_.empty()) return;
  std::vector<uint64_t> stamps(2 * shaders_.size());
  if (!read_stamps(stamps)) return;
  const double period = ctx_.limits().timestampPeriod * 1e-9;  // seconds per tick
  Totals& t = totals();
  std::lock_guard<std::mutex> lock(t.mutex);
  uint64_t first = stamps[0], last = stamps[1];
  for (size_t i = 0; i < shaders_.size(); ++i) {
    uint64_t begin = stamps[2 * i], end = std::max(stamps[2 * i + 1], begin);
    Tally& s = t.shaders[shaders_[i]];
    s.count += 1;
    s.seconds += static_cast<double>(end - begin) * period;
    t.busy_seconds += static_cast<double>(end - begin) * period;
    first = std::min(first, begin);
    last = std::max(last, end);
  }
  t.span_seconds += static_cast<double>(last - first) * period;
  t.submissions += 1;
  shaders_.clear();
}

namespace {
thread_local double t_wait_cpu_seconds = 0;

double thread_cpu_now() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}
}  // namespace

WaitCpuTimer::WaitCpuTimer() : start_(thread_cpu_now()) {}

WaitCpuTimer::~WaitCpuTimer() { t_wait_cpu_seconds += thread_cpu_now() - start_; }

double thread_wait_cpu_seconds() { return t_wait_cpu_seconds; }

}  // namespace lamina::core::vulkan
