// The CPU thread pool: every index is visited exactly once, nested and concurrent callers,
// exceptions, resizing. Run under ThreadSanitizer too (scripts/build.sh tsan), where these
// tests are the race checks of the pool itself.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "libcore/backend/cpu/thread_pool.h"

namespace lamina::core::cpu {
namespace {

// Restores the pool's size after a test that changes it.
class ThreadPoolTest : public ::testing::Test {
 protected:
  void SetUp() override { saved_ = num_threads(); }
  void TearDown() override { set_num_threads(saved_); }
  int saved_ = 1;
};

// Counts how often each index of [0, n) was visited.
std::vector<int> visit_counts(int64_t n, int64_t grain) {
  std::vector<std::atomic<int>> counts(static_cast<size_t>(n));
  parallel_for(n, grain, [&](int64_t begin, int64_t end) {
    ASSERT_LE(0, begin);
    ASSERT_LE(begin, end);
    ASSERT_LE(end, n);
    for (int64_t i = begin; i < end; ++i) counts[static_cast<size_t>(i)].fetch_add(1);
  });
  std::vector<int> out;
  for (auto& c : counts) out.push_back(c.load());
  return out;
}

TEST_F(ThreadPoolTest, EveryIndexExactlyOnce) {
  for (int threads : {1, 2, 3, 5}) {
    set_num_threads(threads);
    EXPECT_EQ(num_threads(), threads);
    for (int64_t n : {0, 1, 2, 7, 64, 1000, 4099}) {
      for (int64_t grain : {1, 3, 16, 5000}) {
        auto counts = visit_counts(n, grain);
        for (int64_t i = 0; i < n; ++i) {
          ASSERT_EQ(counts[static_cast<size_t>(i)], 1) << threads << " " << n << " " << grain << " " << i;
        }
      }
    }
  }
}

TEST_F(ThreadPoolTest, ChunksWriteDisjointPartsOfOneBuffer) {
  set_num_threads(4);
  std::vector<int64_t> out(100000, -1);
  for (int round = 0; round < 50; ++round) {
    parallel_for(static_cast<int64_t>(out.size()), 100, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) out[static_cast<size_t>(i)] = i * round;
    });
    for (size_t i = 0; i < out.size(); i += 997) ASSERT_EQ(out[i], static_cast<int64_t>(i) * round);
  }
}

TEST_F(ThreadPoolTest, NestedLoopsRunInline) {
  set_num_threads(3);
  std::atomic<int64_t> total{0};
  parallel_for(12, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      parallel_for(100, 1, [&](int64_t b, int64_t e) { total.fetch_add(e - b); });
    }
  });
  EXPECT_EQ(total.load(), 1200);
}

TEST_F(ThreadPoolTest, ConcurrentCallersFromOtherThreads) {
  set_num_threads(3);
  std::atomic<int64_t> total{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&] {
      for (int round = 0; round < 200; ++round) {
        parallel_for(64, 4, [&](int64_t b, int64_t e) { total.fetch_add(e - b); });
      }
    });
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(total.load(), 4 * 200 * 64);
}

TEST_F(ThreadPoolTest, ExceptionReachesTheCallerAndThePoolStillWorks) {
  set_num_threads(4);
  for (int64_t failing : {0, 50, 99}) {
    EXPECT_THROW(parallel_for(100, 1,
                              [&](int64_t begin, int64_t end) {
                                if (begin <= failing && failing < end) throw std::runtime_error("chunk failed");
                              }),
                 std::runtime_error);
  }
  auto counts = visit_counts(1000, 10);
  for (int c : counts) ASSERT_EQ(c, 1);
}

TEST_F(ThreadPoolTest, ResizingBetweenLoops) {
  for (int round = 0; round < 20; ++round) {
    set_num_threads(1 + round % 4);
    auto counts = visit_counts(257, 2);
    for (int c : counts) ASSERT_EQ(c, 1);
  }
  set_num_threads(0);  // clamped to 1: everything on the calling thread
  EXPECT_EQ(num_threads(), 1);
}

}  // namespace
}  // namespace lamina::core::cpu
