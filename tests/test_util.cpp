// Test helpers.
#include "tests/test_util.h"

#include <unistd.h>

#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
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

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

CliResult run_lamina(const std::string& args, const std::string& scratch, const std::string& stdin_text) {
  std::string in = scratch + "/stdin.txt", out = scratch + "/stdout.txt", err = scratch + "/stderr.txt";
  std::ofstream(in, std::ios::binary) << stdin_text;
  std::string command = shell_quote(LAMINA_BINARY) + " " + args + " < " + shell_quote(in) + " > " +
                        shell_quote(out) + " 2> " + shell_quote(err);
  int status = std::system(command.c_str());
  CliResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_text_file(out);
  r.err = read_text_file(err);
  return r;
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
