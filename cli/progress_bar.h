// A one-line progress bar on stderr, drawn only when stderr is a terminal: bytes for
// convert/quantize, iterations for lora. Other stderr lines go through clear() first so
// that they never end up glued to the bar.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace lamina::cli {

class ProgressBar {
 public:
  explicit ProgressBar(std::string label) : label_(std::move(label)), enabled_(::isatty(STDERR_FILENO) == 1) {}
  ~ProgressBar() {
    if (drawn_) std::fputc('\n', stderr);
  }
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Redraws for done / total bytes (at most once per percent).
  void update(uint64_t done, uint64_t total) {
    if (!enabled_ || total == 0) return;
    const int percent = static_cast<int>(done * 100 / total);
    if (drawn_ && percent == last_percent_) return;
    char status[64];
    std::snprintf(status, sizeof(status), "%.2f / %.2f GB", static_cast<double>(done) / 1e9,
                  static_cast<double>(total) / 1e9);
    draw(percent, status);
  }

  // Redraws for done / total steps with a free-form status after the bar.
  void update_steps(int64_t done, int64_t total, const std::string& status) {
    if (!enabled_ || total <= 0) return;
    draw(static_cast<int>(done * 100 / total), std::to_string(done) + "/" + std::to_string(total) + " " + status);
  }

  // Erases the bar's line (it is drawn again by the next update).
  void clear() {
    if (!drawn_) return;
    std::fputs("\r\033[K", stderr);
    drawn_ = false;
  }

 private:
  void draw(int percent, const std::string& status) {
    last_percent_ = percent;
    constexpr int kWidth = 30;
    const int filled = percent * kWidth / 100;
    std::fprintf(stderr, "\r\033[K%s [%s%s] %3d%% %s", label_.c_str(),
                 std::string(static_cast<size_t>(filled), '#').c_str(),
                 std::string(static_cast<size_t>(kWidth - filled), ' ').c_str(), percent, status.c_str());
    std::fflush(stderr);
    drawn_ = true;
  }

  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  int last_percent_ = -1;
};

}  // namespace lamina::cli
