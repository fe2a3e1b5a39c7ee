// Random numbers: the Threefry-2x32 kernel against the published known-answer vectors, key
// handling, determinism, independence from the thread count, and the distributions' moments
// and frequencies within statistical bounds (5 standard errors, fixed seeds).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>
#include <string>

#include "kernels/cpu/threefry.h"
#include "libcore/backend/cpu/thread_pool.h"
#include "libcore/ops/ops.h"
#include "tests/test_util.h"

using namespace lamina::core;
namespace rnd = lamina::core::random;

namespace {

bool throws_error(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const lamina::Error&) {
    return true;
  }
  return false;
}

double moment(const std::vector<double>& v, int power, double center) {
  double s = 0;
  for (double x : v) s += std::pow(x - center, power);
  return s / static_cast<double>(v.size());
}

}  // namespace

TEST(Random, ThreefryKnownAnswers) {
  // Known-answer vectors of Threefry-2x32 with 20 rounds (key, counter -> output).
  auto zero = lamina::kernels::threefry2x32(0, 0, 0, 0);
  EXPECT_EQ(zero[0], 0x6b200159u);
  EXPECT_EQ(zero[1], 0x99ba4efeu);
  auto ones = lamina::kernels::threefry2x32(~0u, ~0u, ~0u, ~0u);
  EXPECT_EQ(ones[0], 0x1cb996fcu);
  EXPECT_EQ(ones[1], 0xbb002be7u);
  auto pi = lamina::kernels::threefry2x32(0x13198a2eu, 0x03707344u, 0x243f6a88u, 0x85a308d3u);
  EXPECT_EQ(pi[0], 0xc4923a9cu);
  EXPECT_EQ(pi[1], 0x483df7a0u);
}

TEST(Random, KeysAndBits) {
  Array k = rnd::key(0x0000000500000007ull);
  EXPECT_EQ(k.dtype(), Dtype::uint32);
  EXPECT_EQ(k.to_vector<uint64_t>(), (std::vector<uint64_t>{5, 7}));
  Array bits = rnd::random_bits(rnd::key(0), {2, 3});
  EXPECT_EQ(bits.dtype(), Dtype::uint32);
  auto b = bits.to_vector<uint64_t>();
  // Word 2i, 2i + 1 is block i of the stream; block 0 of key 0 is the first vector above.
  EXPECT_EQ(b[0], 0x6b200159u);
  EXPECT_EQ(b[1], 0x99ba4efeu);
  // A longer draw extends a shorter one (word i depends only on the key and i).
  auto longer = rnd::random_bits(rnd::key(0), {7}).to_vector<uint64_t>();
  EXPECT_EQ(std::vector<uint64_t>(longer.begin(), longer.begin() + 6), b);

  auto keys = rnd::split(rnd::key(42), 3);
  ASSERT_EQ(keys.size(), 3u);
  std::set<std::vector<uint64_t>> distinct;
  for (const auto& key : keys) {
    EXPECT_EQ(key.shape(), (Shape{2}));
    distinct.insert(key.to_vector<uint64_t>());
  }
  EXPECT_EQ(distinct.size(), 3u);
  EXPECT_EQ(rnd::split(rnd::key(42), 5)[1].to_vector<uint64_t>(), keys[1].to_vector<uint64_t>());
  // A split key (a strided view) draws the same as the same key made from values.
  auto words = keys[2].to_vector<uint32_t>();
  Array copy(words, {2}, Dtype::uint32);
  EXPECT_EQ(rnd::uniform(keys[2], {9}).to_vector<float>(), rnd::uniform(copy, {9}).to_vector<float>());

  EXPECT_TRUE(throws_error([] { rnd::random_bits(Array(std::vector<int32_t>{1, 2}, {2}), {3}); }));
  EXPECT_TRUE(throws_error([] { rnd::uniform(rnd::key(1), {3}, 0, 1, Dtype::int32); }));
  EXPECT_TRUE(throws_error([] { rnd::uniform(rnd::key(1), {3}, 1, 1); }));
  EXPECT_TRUE(throws_error([] { rnd::split(rnd::key(1), 0); }));
}

TEST(Random, DeterministicPerSeedAndDifferentAcrossSeeds) {
  auto a = rnd::uniform(rnd::key(7), {1000}).to_vector<float>();
  auto b = rnd::uniform(rnd::key(7), {1000}).to_vector<float>();
  auto c = rnd::uniform(rnd::key(8), {1000}).to_vector<float>();
  EXPECT_EQ(a, b);
  int same = 0;
  for (size_t i = 0; i < a.size(); ++i) same += a[i] == c[i];
  EXPECT_LT(same, 5);
  EXPECT_EQ(rnd::normal(rnd::key(3), {64}).to_vector<float>(),
            rnd::normal(rnd::key(3), {64}).to_vector<float>());
  // Normal value i does not depend on how many values are drawn.
  auto n8 = rnd::normal(rnd::key(3), {8}).to_vector<float>();
  auto n64 = rnd::normal(rnd::key(3), {64}).to_vector<float>();
  EXPECT_EQ(n8, std::vector<float>(n64.begin(), n64.begin() + 8));
}

TEST(Random, GlobalSeed) {
  rnd::seed(42);
  auto a = rnd::uniform({16}).to_vector<float>();
  auto k1 = rnd::next_key().to_vector<uint64_t>();
  rnd::seed(42);
  auto b = rnd::uniform({16}).to_vector<float>();
  EXPECT_EQ(a, b);
  EXPECT_EQ(rnd::next_key().to_vector<uint64_t>(), k1);
  EXPECT_EQ(k1, rnd::split(rnd::key(42), 2)[1].to_vector<uint64_t>());
  rnd::seed(43);
  EXPECT_NE(rnd::uniform({16}).to_vector<float>(), a);
  EXPECT_EQ(rnd::normal({4}, Dtype::bfloat16).dtype(), Dtype::bfloat16);
  EXPECT_EQ(rnd::bernoulli(0.5, {4}).dtype(), Dtype::bool_);
  EXPECT_EQ(rnd::categorical(zeros({3, 5})).shape(), (Shape{3}));
}

TEST(Random, IndependentOfThreadCount) {
  const int saved = cpu::num_threads();
  auto draw = [](int threads) {
    cpu::set_num_threads(threads);
    Array key = rnd::key(2024);
    std::vector<std::vector<double>> out;
    out.push_back(rnd::random_bits(key, {100001}).to_vector<double>());  // odd: split mid-block
    out.push_back(rnd::uniform(key, {300, 333}, -2, 3).to_vector<double>());
    out.push_back(rnd::normal(key, {100003}).to_vector<double>());
    out.push_back(rnd::categorical(key, zeros({2000, 50})).to_vector<double>());
    return out;
  };
  auto one = draw(1);
  auto three = draw(3);
  auto eight = draw(8);
  cpu::set_num_threads(saved);
  EXPECT_EQ(one, three);
  EXPECT_EQ(one, eight);
}

TEST(Random, UniformMoments) {
  const int64_t n = 200000;
  auto u = rnd::uniform(rnd::key(11), {n}).to_vector<double>();
  double lo = 1, hi = 0;
  for (double x : u) {
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  EXPECT_GE(lo, 0.0);
  EXPECT_LT(hi, 1.0);
  double mean = moment(u, 1, 0);
  double var = moment(u, 2, mean);
  EXPECT_NEAR(mean, 0.5, 5 * std::sqrt(1.0 / 12 / n));
  // Var of the sample variance of U(0,1): (mu4 - sigma^4) / n = (1/80 - 1/144) / n.
  EXPECT_NEAR(var, 1.0 / 12, 5 * std::sqrt((1.0 / 80 - 1.0 / 144) / n));

  auto s = rnd::uniform(rnd::key(12), {n}, -3, 5).to_vector<double>();
  double smean = moment(s, 1, 0);
  EXPECT_NEAR(smean, 1.0, 5 * 8 * std::sqrt(1.0 / 12 / n));
  EXPECT_NEAR(moment(s, 2, smean), 64.0 / 12, 5 * 64 * std::sqrt((1.0 / 80 - 1.0 / 144) / n));
}

TEST(Random, UniformEveryFloatDtypeStaysBelowHigh) {
  for (Dtype dt : {Dtype::float16, Dtype::bfloat16, Dtype::float32}) {
    Array u = rnd::uniform(rnd::key(13), {100000}, 0.5, 1.0, dt);
    EXPECT_EQ(u.dtype(), dt);
    auto v = u.to_vector<double>();
    double mean = 0;
    for (double x : v) {
      EXPECT_GE(x, 0.5);
      ASSERT_LT(x, 1.0) << dtype_name(dt);  // bfloat16 would round 0.999 up to 1 unclamped
      mean += x;
    }
    EXPECT_NEAR(mean / static_cast<double>(v.size()), 0.75, 0.01) << dtype_name(dt);
  }
}

TEST(Random, NormalMoments) {
  const int64_t n = 200000;
  auto z = rnd::normal(rnd::key(21), {n}).to_vector<double>();
  const double se = 1.0 / std::sqrt(static_cast<double>(n));
  double mean = moment(z, 1, 0);
  EXPECT_NEAR(mean, 0.0, 5 * se);
  EXPECT_NEAR(moment(z, 2, 0), 1.0, 5 * std::sqrt(2.0) * se);
  EXPECT_NEAR(moment(z, 3, 0), 0.0, 5 * std::sqrt(15.0) * se);
  EXPECT_NEAR(moment(z, 4, 0), 3.0, 5 * std::sqrt(96.0) * se);
  // Mass within one standard deviation: 0.6827.
  double within = 0;
  for (double x : z) within += std::abs(x) < 1.0;
  EXPECT_NEAR(within / n, 0.682689, 5 * std::sqrt(0.6827 * 0.3173 / n));

  auto s = rnd::normal(rnd::key(22), {n}, Dtype::float32, 2.0, 0.5).to_vector<double>();
  double smean = moment(s, 1, 0);
  EXPECT_NEAR(smean, 2.0, 5 * 0.5 * se);
  EXPECT_NEAR(moment(s, 2, smean), 0.25, 5 * 0.25 * std::sqrt(2.0) * se);
  for (Dtype dt : {Dtype::float16, Dtype::bfloat16}) {
    auto h = rnd::normal(rnd::key(23), {50000}, dt).to_vector<double>();
    EXPECT_NEAR(moment(h, 2, 0), 1.0, 0.05) << dtype_name(dt);
  }
}

TEST(Random, BernoulliFrequencies) {
  const int64_t n = 100000;
  auto b = rnd::bernoulli(rnd::key(31), 0.3, {n});
  EXPECT_EQ(b.dtype(), Dtype::bool_);
  double freq = mean(astype(b, Dtype::float32)).item<double>();
  EXPECT_NEAR(freq, 0.3, 5 * std::sqrt(0.3 * 0.7 / n));
  // Per-column probabilities (p broadcasts to the shape), including the edge cases 0 and 1.
  Array p(std::vector<float>{0.0f, 0.25f, 1.0f}, {3});
  auto cols = mean(astype(rnd::bernoulli(rnd::key(32), p, {n, 3}), Dtype::float32), {0}).to_vector<double>();
  EXPECT_EQ(cols[0], 0.0);
  EXPECT_NEAR(cols[1], 0.25, 5 * std::sqrt(0.25 * 0.75 / n));
  EXPECT_EQ(cols[2], 1.0);
}

TEST(Random, CategoricalMatchesSoftmax) {
  const int64_t n = 100000;
  std::vector<float> logits = {0.5f, -1.0f, 2.0f, 0.0f, -INFINITY};
  double total = 0;
  std::vector<double> p;
  for (float l : logits) total += std::exp(l);
  for (float l : logits) p.push_back(std::exp(l) / total);
  Array batch = broadcast_to(Array(logits, {1, 5}), {n, 5});
  Array draws = rnd::categorical(rnd::key(41), batch, -1);
  EXPECT_EQ(draws.dtype(), Dtype::uint32);
  EXPECT_EQ(draws.shape(), (Shape{n}));
  std::vector<double> counts(5, 0);
  for (auto c : draws.to_vector<int64_t>()) counts[c] += 1;
  for (int i = 0; i < 5; ++i) {
    EXPECT_NEAR(counts[i] / n, p[i], 5 * std::sqrt(p[i] * (1 - p[i]) / n) + 1e-12) << "category " << i;
  }
  // Along axis 0, from float16 logits: one category per column.
  Array col = astype(Array(std::vector<float>{0, -INFINITY, -INFINITY, 0}, {2, 2}), Dtype::float16);
  EXPECT_EQ(rnd::categorical(rnd::key(42), col, 0).to_vector<int64_t>(), (std::vector<int64_t>{0, 1}));
}
