// AtomicFile: temp file + fsync + rename, with the temp removed on any failure.
#include "libcore/io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "libcore/error.h"

namespace lamina::io {

namespace {

std::string errno_text(int err) { return std::strerror(err); }

// Distinguishes temp files of concurrent writers in one process (the pid covers processes).
std::atomic<uint64_t> temp_counter{0};

// Makes a rename durable: without syncing the directory a crash may forget the new name.
// Best effort: some file systems refuse fsync on a directory, and the data itself is synced.
void sync_directory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

}  // namespace

AtomicFile::AtomicFile(std::string target) : target_(std::move(target)) {
  std::filesystem::path path(target_);
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  std::string name = path.filename().string();
  if (name.empty()) throw Error(target_ + ": not a file name");
  // A dot-prefixed name keeps the unfinished file out of globs such as model*.safetensors.
  // O_EXCL with a fresh name per attempt; the retry only matters if a stale temp collides.
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string candidate = (dir / ("." + name + ".tmp-" + std::to_string(::getpid()) + "-" +
                                    std::to_string(temp_counter.fetch_add(1))))
                                .string();
    // Mode 0666 so that the umask decides the final permissions, as for any new file.
    fd_ = ::open(candidate.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ >= 0) {
      temp_ = std::move(candidate);
      return;
    }
    if (errno != EEXIST) {
      throw Error(target_ + ": cannot create a temporary file in " + dir.string() + ": " +
                  errno_text(errno));
    }
  }
  throw Error(target_ + ": cannot find a free temporary file name in " + dir.string());
}

AtomicFile::~AtomicFile() { discard(); }

void AtomicFile::write(const void* data, size_t bytes) {
  if (fd_ < 0) throw Error(target_ + ": write after the file was closed");
  const auto* p = static_cast<const char*>(data);
  while (bytes > 0) {
    // Linux writes at most ~2 GiB per call; loop over partial writes.
    ssize_t n = ::write(fd_, p, bytes);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      discard();
      throw Error(target_ + ": write failed after " + std::to_string(written_) +
                  " bytes: " + errno_text(err));
    }
    if (n == 0) {
      discard();
      throw Error(target_ + ": write failed after " + std::to_string(written_) +
                  " bytes: no progress");
    }
    p += n;
    bytes -= static_cast<size_t>(n);
    written_ += static_cast<uint64_t>(n);
  }
}

void AtomicFile::commit() {
  if (committed_) return;
  if (fd_ < 0) throw Error(target_ + ": commit after the file was discarded");
  // Errors from delayed allocation (ENOSPC on NFS, quota) surface in fsync or close.
  if (::fsync(fd_) != 0) {
    int err = errno;
    discard();
    throw Error(target_ + ": flushing to disk failed: " + errno_text(err));
  }
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    int err = errno;
    discard();
    throw Error(target_ + ": closing failed: " + errno_text(err));
  }
  if (::rename(temp_.c_str(), target_.c_str()) != 0) {
    int err = errno;
    discard();
    throw Error(target_ + ": cannot rename the temporary file into place: " + errno_text(err));
  }
  committed_ = true;
  std::filesystem::path dir = std::filesystem::path(target_).parent_path();
  sync_directory(dir.empty() ? "." : dir.string());
}

void AtomicFile::discard() noexcept {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!committed_ && !temp_.empty()) {
    ::unlink(temp_.c_str());
    temp_.clear();
  }
}

}  // namespace lamina::io
