// Test helpers.
#include "tests/test_util.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <random>

namespace lamina::test {

std::string testdata(const std::string& relative) {
  return std::string(LAMINA_TESTDATA) + "/" + relative;
}

std::string temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("lamina_test_" + std::to_string(::getpid()) + "_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

void expect_close(const core::Array& a, const std::vector<double>& expected, double atol,
                  double rtol) {
  auto got = a.to_vector<double>();
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(expected[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << "at " << i;
      continue;
    }
    if (std::isinf(expected[i])) {
      EXPECT_EQ(got[i], expected[i]) << "at " << i;
      continue;
    }
    EXPECT_NEAR(got[i], expected[i], atol + rtol * std::abs(expected[i])) << "at " << i;
  }
}

void expect_arrays_close(const core::Array& a, const core::Array& b, double atol, double rtol) {
  ASSERT_EQ(a.shape(), b.shape());
  expect_close(a, b.to_vector<double>(), atol, rtol);
}

core::Array random_array(const core::Shape& shape, uint32_t seed, float lo, float hi) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<size_t>(core::shape_size(shape)));
  for (auto& x : v) x = dist(gen);
  return core::Array(v, shape);
}

}  // namespace lamina::test
