// Helpers shared by the tests: paths to shared test data, closeness checks.
#pragma once

#include <gtest/gtest.h>

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "libcore/array/array.h"
#include "quant/quantized_ops.h"

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
// A lamina process started without a shell, for tests that signal it while it runs.
class LaminaProcess {
 public:
  struct Options {
    // RLIMIT_FSIZE of the child in bytes, with SIGXFSZ ignored: a write past it fails with
    // EFBIG, as on a full disk.
    std::optional<uint64_t> file_size_limit;
  };
  // Starts `lamina <args>` (no shell: one element per argument) with stdout and stderr on
  // pipes and stdin from /dev/null.
  explicit LaminaProcess(const std::vector<std::string>& args);
  LaminaProcess(const std::vector<std::string>& args, const Options& options);
  // Kills (SIGKILL) and reaps the child if it still runs.
  ~LaminaProcess();
  LaminaProcess(const LaminaProcess&) = delete;
  LaminaProcess& operator=(const LaminaProcess&) = delete;

  pid_t pid() const { return pid_; }
  // The next line of stdout, without its newline; false at the end of stdout or when none
  // came within `timeout_seconds`.
  bool read_line(std::string& line, double timeout_seconds = 120);
  void send_signal(int signal_number);
  // Closes the read end of the child's stdout, as `| head` does when it has had enough:
  // the child's next write to stdout raises SIGPIPE.
  void close_stdout();
  // Reads stdout and stderr to their end and waits for the child: its exit code, or 128 +
  // the signal's number when a signal ended it (the shell's convention).
  int wait();
  // Everything read from stdout / stderr so far (all of it after wait()).
  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

 private:
  // Reads what is available on the open pipes within `timeout_ms`; false when both are closed.
  bool pump(int timeout_ms);

  pid_t pid_ = -1;
  int out_fd_ = -1, err_fd_ = -1;
  std::string out_, err_;
  size_t line_start_ = 0;  // of the next line read_line() returns
  int exit_code_ = -1;
};

// Single-quotes `s` for the shell.
std::string shell_quote(const std::string& s);
// The numbers under `key` in the JSON objects of `out`, one object per line (e.g. every
// "train_loss" of `lamina lora --json`), in order.
std::vector<double> json_line_values(const std::string& out, const std::string& key);
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
// W [N, K] as doubles from its 4-bit packing (docs/formats.md: element j of a row at bits
// [4j, 4j + 4) of its little-endian word stream) and the per-group scales and biases: an
// independent dequantization for the quantized products' reference loops.
std::vector<double> dequantize_4bit(const core::QuantizedArrays& q, int64_t N, int64_t K, int group);
// How y's primitive prints itself (e.g. "Matmul(rms_norm, +c)"): which node a builder made.
std::string node_name(const core::Array& y);

}  // namespace lamina::test
