// A fixed pool of worker threads; parallel_for hands each worker one chunk and the caller
// runs the first chunk itself, then waits for the rest. Workers and the waiting caller spin
// briefly before sleeping: decode runs ~150 parallel regions per token a few hundred
// microseconds apart, and a futex wake-up per region cost ~5% of the token time.
#include "libcore/backend/cpu/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace lamina::core::cpu {

namespace {

// Polls of an atomic before blocking (~50-100 us with the pause below).
constexpr int kSpinPolls = 2000;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

class ThreadPool {
 public:
  explicit ThreadPool(int n) { resize(n); }
  ~ThreadPool() { stop(); }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  void resize(int n) {
    stop();
    stopping_ = false;
    for (int i = 1; i < n; ++i) workers_.emplace_back([this] { loop(); });
  }

  void run(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
    int64_t max_chunks = std::max<int64_t>(1, n / std::max<int64_t>(grain, 1));
    int chunks = static_cast<int>(std::min<int64_t>(size(), max_chunks));
    // A loop nested in a parallel region (on a worker, or on the caller running its own
    // chunk) runs inline: the pool is busy, and the caller holds call_mutex_.
    if (chunks <= 1 || in_region_) {
      fn(0, n);
      return;
    }
    std::unique_lock<std::mutex> call_lock(call_mutex_);  // one parallel region at a time
    int64_t per = (n + chunks - 1) / chunks;
    chunks = static_cast<int>((n + per - 1) / per);  // no empty chunk at the end
    RegionFlag region;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      fn_ = &fn;
      pending_.store(chunks - 1);
      error_ = nullptr;
      for (int c = 1; c < chunks; ++c) {
        tasks_.push_back({c * per, std::min(n, (c + 1) * per)});
      }
      epoch_.fetch_add(1);
    }
    cv_.notify_all();
    try {
      fn(0, std::min(n, per));
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
    for (int i = 0; i < kSpinPolls && pending_.load() != 0; ++i) cpu_relax();
    std::unique_lock<std::mutex> lock(mutex_);
    done_cv_.wait(lock, [this] { return pending_.load() == 0; });
    fn_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  struct Task {
    int64_t begin, end;
  };

  // Marks the calling thread as inside a parallel region while it lives.
  struct RegionFlag {
    RegionFlag() { in_region_ = true; }
    ~RegionFlag() { in_region_ = false; }
  };

  void loop() {
    in_region_ = true;
    uint64_t seen = epoch_.load();
    for (;;) {
      // New work bumps the epoch: poll it a while before sleeping on the condition variable.
      for (int i = 0; i < kSpinPolls && epoch_.load() == seen; ++i) cpu_relax();
      Task task;
      const std::function<void(int64_t, int64_t)>* fn;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
        if (stopping_) return;
        seen = epoch_.load();
        task = tasks_.back();
        tasks_.pop_back();
        fn = fn_;
      }
      try {
        (*fn)(task.begin, task.end);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error_) error_ = std::current_exception();
      }
      if (pending_.fetch_sub(1) == 1) {
        std::lock_guard<std::mutex> lock(mutex_);  // the caller checks pending_ under it
        done_cv_.notify_one();
      }
    }
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  std::vector<std::thread> workers_;
  std::mutex mutex_, call_mutex_;
  std::condition_variable cv_, done_cv_;
  std::vector<Task> tasks_;
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  std::atomic<int> pending_{0};
  std::atomic<uint64_t> epoch_{0};
  bool stopping_ = false;
  std::exception_ptr error_;
  static thread_local bool in_region_;
};

thread_local bool ThreadPool::in_region_ = false;

int default_threads() {
  if (const char* env = std::getenv("LAMINA_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

ThreadPool& pool() {
  static ThreadPool p(default_threads());
  return p;
}

}  // namespace

int num_threads() { return pool().size(); }

void set_num_threads(int n) { pool().resize(std::max(1, n)); }

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  if (n < 2 * grain) {
    fn(0, n);
    return;
  }
  pool().run(n, grain, fn);
}

}  // namespace lamina::core::cpu
