// The caching allocator: freed blocks are kept in size buckets and handed out again, so a
// generation loop that builds the same graph every step stops calling the system allocator.
#include "libcore/array/buffer.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <new>

namespace lamina::core {

namespace {

constexpr size_t kAlignment = 64;
constexpr size_t kMaxCacheBytes = size_t{1} << 30;  // keep at most 1 GiB of free blocks

struct AllocatorState {
  std::mutex mutex;
  std::multimap<size_t, void*> free_blocks;  // rounded size -> block
  size_t cached = 0;
  size_t active = 0;
  size_t peak = 0;
};

AllocatorState& state() {
  static auto* s = new AllocatorState();  // leaked on purpose: buffers may outlive statics
  return *s;
}

// Rounds sizes so that blocks of similar size are interchangeable.
size_t round_size(size_t bytes) {
  if (bytes <= 4096) return (bytes + kAlignment - 1) / kAlignment * kAlignment;
  size_t page = 4096;
  if (bytes > (size_t{1} << 20)) page = size_t{1} << 16;
  return (bytes + page - 1) / page * page;
}

void release(void* p, size_t rounded) {
  auto& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.active -= rounded;
  if (s.cached + rounded <= kMaxCacheBytes) {
    s.free_blocks.emplace(rounded, p);
    s.cached += rounded;
  } else {
    std::free(p);
  }
}

}  // namespace

Buffer::~Buffer() {
  if (owner_ == nullptr && data_ != nullptr) release(data_, bytes_);
}

namespace allocator {

std::shared_ptr<Buffer> malloc(size_t bytes) {
  size_t rounded = round_size(bytes == 0 ? 1 : bytes);
  auto& s = state();
  void* p = nullptr;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    auto it = s.free_blocks.find(rounded);
    if (it != s.free_blocks.end()) {
      p = it->second;
      s.free_blocks.erase(it);
      s.cached -= rounded;
    }
    s.active += rounded;
    if (s.active > s.peak) s.peak = s.active;
  }
  if (p == nullptr) {
    p = std::aligned_alloc(kAlignment, rounded);
    if (p == nullptr) {
      std::lock_guard<std::mutex> lock(s.mutex);
      s.active -= rounded;
      throw std::bad_alloc();
    }
  }
  return std::make_shared<Buffer>(p, rounded, nullptr);
}

size_t active_bytes() {
  std::lock_guard<std::mutex> lock(state().mutex);
  return state().active;
}

size_t peak_bytes() {
  std::lock_guard<std::mutex> lock(state().mutex);
  return state().peak;
}

void reset_peak() {
  std::lock_guard<std::mutex> lock(state().mutex);
  state().peak = state().active;
}

size_t cached_bytes() {
  std::lock_guard<std::mutex> lock(state().mutex);
  return state().cached;
}

void clear_cache() {
  auto& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  for (auto& [size, p] : s.free_blocks) std::free(p);
  s.free_blocks.clear();
  s.cached = 0;
}

}  // namespace allocator
}  // namespace lamina::core
