// Temporary output names, their in-use locks and the removal of stale ones.
#include "libcore/io/temporary_files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdint>
#include <filesystem>

namespace lamina::io {

namespace {

constexpr const char* kTempMarker = ".tmp-";

// Distinguishes temporaries of one process (the pid distinguishes processes).
std::atomic<uint64_t> temp_counter{0};

bool is_number(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// True when `path` is not locked by a living process (tried without waiting).
bool is_stale(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;
  bool stale = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  ::close(fd);
  return stale;
}

}  // namespace

std::string temporary_name(const std::string& final_name) {
  return "." + final_name + kTempMarker + std::to_string(::getpid()) + "-" +
         std::to_string(temp_counter.fetch_add(1));
}

bool is_temporary_name(const std::string& entry, const std::string& final_name) {
  if (entry.size() < 2 || entry[0] != '.') return false;
  const size_t marker = entry.rfind(kTempMarker);
  if (marker == std::string::npos || marker < 1) return false;
  if (!final_name.empty() && entry.compare(1, marker - 1, final_name) != 0) return false;
  if (!final_name.empty() && marker - 1 != final_name.size()) return false;
  const std::string suffix = entry.substr(marker + std::char_traits<char>::length(kTempMarker));
  const size_t dash = suffix.find('-');
  return dash != std::string::npos && is_number(suffix.substr(0, dash)) && is_number(suffix.substr(dash + 1));
}

void mark_in_use(int fd) { (void)::flock(fd, LOCK_EX | LOCK_NB); }

void remove_stale_temporaries(const std::string& dir, const std::string& final_name) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (fs::directory_iterator it(dir.empty() ? "." : dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& path = it->path();
    if (!is_temporary_name(path.filename().string(), final_name) || !is_stale(path.string())) continue;
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
}

}  // namespace lamina::io
