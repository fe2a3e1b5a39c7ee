// Test helpers.
#include "tests/test_util.h"

#include "libcore/ops/primitive.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cmath>
#include <stdexcept>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

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

LaminaProcess::LaminaProcess(const std::vector<std::string>& args) : LaminaProcess(args, Options{}) {}

LaminaProcess::LaminaProcess(const std::vector<std::string>& args, const Options& options) {
  // Everything the child needs is prepared before fork: between fork and exec only
  // async-signal-safe calls are allowed (the test process may have threads).
  std::vector<std::string> strings{LAMINA_BINARY};
  strings.insert(strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int null_in = ::open("/dev/null", O_RDONLY);
    if (null_in < 0 || ::dup2(null_in, 0) < 0 || ::dup2(out_pipe[1], 1) < 0 || ::dup2(err_pipe[1], 2) < 0) ::_exit(127);
    if (options.file_size_limit) {
      struct rlimit limit;
      limit.rlim_cur = limit.rlim_max = static_cast<rlim_t>(*options.file_size_limit);
      if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(127);
      ::signal(SIGXFSZ, SIG_IGN);  // kept across exec: writes fail with EFBIG instead
    }
    // The child starts with default dispositions and no blocked signals, whatever the test set.
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  out_fd_ = out_pipe[0];
  err_fd_ = err_pipe[0];
}

LaminaProcess::~LaminaProcess() {
  if (pid_ > 0 && exit_code_ < 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (out_fd_ >= 0) ::close(out_fd_);
  if (err_fd_ >= 0) ::close(err_fd_);
}

bool LaminaProcess::pump(int timeout_ms) {
  std::vector<pollfd> fds;
  for (int fd : {out_fd_, err_fd_}) {
    if (fd >= 0) fds.push_back({fd, POLLIN, 0});
  }
  if (fds.empty()) return false;
  int n = ::poll(fds.data(), fds.size(), timeout_ms);
  if (n < 0 && errno != EINTR) throw std::runtime_error("poll failed");
  for (const auto& p : fds) {
    if (p.revents == 0) continue;
    char buffer[65536];
    ssize_t got = ::read(p.fd, buffer, sizeof(buffer));
    if (got < 0 && errno == EINTR) continue;
    int& fd = p.fd == out_fd_ ? out_fd_ : err_fd_;
    if (got <= 0) {
      ::close(fd);
      fd = -1;
    } else {
      (p.fd == out_fd_ ? out_ : err_).append(buffer, static_cast<size_t>(got));
    }
  }
  return true;
}

bool LaminaProcess::read_line(std::string& line, double timeout_seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
  for (;;) {
    size_t end = out_.find('\n', line_start_);
    if (end != std::string::npos) {
      line = out_.substr(line_start_, end - line_start_);
      line_start_ = end + 1;
      return true;
    }
    if (out_fd_ < 0) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pump(static_cast<int>(std::min<int64_t>(left.count(), 1000)));
  }
}

void LaminaProcess::send_signal(int signal_number) {
  if (pid_ > 0 && exit_code_ < 0) ::kill(pid_, signal_number);
}

void LaminaProcess::close_stdout() {
  if (out_fd_ >= 0) ::close(out_fd_);
  out_fd_ = -1;
}

int LaminaProcess::wait() {
  if (exit_code_ >= 0) return exit_code_;
  while (pump(-1)) {
  }
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) throw std::runtime_error("waitpid failed");
  }
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return exit_code_;
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

std::vector<double> dequantize_4bit(const core::QuantizedArrays& q, int64_t N, int64_t K, int group) {
  auto words = q.weight.to_vector<uint32_t>();
  auto scales = q.scales.to_vector<double>(), biases = q.biases.to_vector<double>();
  std::vector<double> w(static_cast<size_t>(N * K));
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t k = 0; k < K; ++k) {
      const uint32_t code = (words[n * K / 8 + k / 8] >> (4 * (k % 8))) & 15u;
      const int64_t g = n * (K / group) + k / group;
      w[n * K + k] = scales[g] * code + biases[g];
    }
  }
  return w;
}

std::vector<double> json_line_values(const std::string& out, const std::string& key) {
  std::vector<double> values;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    auto j = nlohmann::json::parse(line);
    if (j.contains(key)) values.push_back(j[key].get<double>());
  }
  return values;
}

std::string node_name(const core::Array& y) {
  std::ostringstream os;
  y.primitive()->print(os);
  return os.str();
}

}  // namespace lamina::test
