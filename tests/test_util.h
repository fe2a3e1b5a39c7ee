// Helpers shared by the tests: paths to shared test data, closeness checks.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "libcore/array/array.h"

namespace lamina::test {

// Path of a file under ../shared/testdata.
std::string testdata(const std::string& relative);
// A fresh empty directory under the build's temp area, removed at exit.
std::string temp_dir(const std::string& name);

// The result of running the lamina binary.
struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
// Runs `lamina <args>` (args already shell-quoted where needed) with stdout and stderr
// captured separately under `scratch`; `stdin_text` is fed on standard input.
CliResult run_lamina(const std::string& args, const std::string& scratch, const std::string& stdin_text = "");
// Single-quotes `s` for the shell.
std::string shell_quote(const std::string& s);
// The whole content of a file ("" when missing).
std::string read_text_file(const std::string& path);

// Asserts that a (evaluated as float) matches `expected` elementwise within atol + rtol*|e|.
void expect_close(const core::Array& a, const std::vector<double>& expected, double atol = 1e-5,
                  double rtol = 1e-5);
// Asserts two arrays have the same shape and close values.
void expect_arrays_close(const core::Array& a, const core::Array& b, double atol = 1e-5,
                         double rtol = 1e-5);
// A reproducible random float32 array uniform in [lo, hi) (std::mt19937, not lamina's RNG).
core::Array random_array(const core::Shape& shape, uint32_t seed, float lo = -1.0f, float hi = 1.0f);

}  // namespace lamina::test
