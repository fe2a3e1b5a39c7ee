// AtomicFile: temp file + fsync + rename, with the temp removed on any failure.
#include "libcore/io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "libcore/error.h"
#include "libcore/io/temporary_files.h"

namespace lamina::io {

namespace {

std::string errno_text(int err) { return std::strerror(err); }

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
    std::string candidate = (dir / temporary_name(name)).string();
    // Mode 0666 so that the umask decides the final permissions, as for any new file.
    fd_ = ::open(candidate.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ >= 0) {
      // Locked while this process lives: remove_stale_temporaries() leaves it alone.
      mark_in_use(fd_);
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
  // Errors from delayed allocation (ENOSPC on NFS, quota) surface here at the latest.
  if (::fsync(fd_) != 0) {
    int err = errno;
    discard();
    throw Error(target_ + ": flushing to disk failed: " + errno_text(err));
  }
  // Renamed while still open, so the in-use lock covers the temporary until it is gone.
  if (::rename(temp_.c_str(), target_.c_str()) != 0) {
    int err = errno;
    discard();
    throw Error(target_ + ": cannot rename the temporary file into place: " + errno_text(err));
  }
  // The data is on disk (fsync above); a late error from close could not be acted on.
  ::close(fd_);
  fd_ = -1;
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

void write_file_atomically(const std::string& path, const std::string& text) {
  AtomicFile f(path);
  f.write(text);
  f.commit();
}

void copy_file_atomically(const std::string& source, const std::string& target) {
  int in = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) throw Error(source + ": cannot open: " + errno_text(errno));
  try {
    AtomicFile out(target);
    std::vector<char> buffer(1 << 20);
    for (;;) {
      ssize_t n = ::read(in, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw Error(source + ": read failed: " + errno_text(errno));
      if (n == 0) break;
      out.write(buffer.data(), static_cast<size_t>(n));
    }
    out.commit();
  } catch (...) {
    ::close(in);
    throw;
  }
  ::close(in);
}

}  // namespace lamina::io
