// Atomic output directories.
#include "libcore/convert/output_dir.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "libcore/error.h"
#include "libcore/io/temporary_files.h"

namespace lamina::convert {

namespace fs = std::filesystem;

namespace {

bool is_within(const fs::path& child, const fs::path& parent) {
  auto c = child.begin();
  for (auto p = parent.begin(); p != parent.end(); ++p, ++c) {
    if (c == child.end() || *p != *c) return false;
  }
  return true;
}

// Best effort, as for files: a file system may refuse fsync on a directory.
void sync_directory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

// rename(2) with renameat2's flags; false with errno EINVAL/ENOSYS where the file system
// (or kernel) lacks them, so the caller can fall back.
bool rename_with_flags(const std::string& from, const std::string& to, unsigned flags) {
  return ::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), flags) == 0;
}

bool flags_unsupported(int err) { return err == EINVAL || err == ENOSYS || err == ENOTSUP; }

}  // namespace

OutputDirectory::OutputDirectory(const std::string& target, const std::string& input_dir, bool force)
    : target_(target), force_(force) {
  std::error_code ec;
  fs::path out = fs::weakly_canonical(fs::absolute(target), ec);
  if (out.filename().empty()) out = out.parent_path();  // "model/" names the directory model
  if (!input_dir.empty()) {
    fs::path in = fs::weakly_canonical(fs::absolute(input_dir), ec);
    if (is_within(out, in) || is_within(in, out)) {
      throw Error(target + ": the output directory must not be the input directory or inside it");
    }
  }
  if (fs::exists(out) && !force) {
    throw Error(target + ": already exists (use --force to replace it)");
  }
  fs::path parent = out.parent_path();
  if (!fs::is_directory(parent)) {
    throw Error(target + ": parent directory " + parent.string() + " does not exist");
  }
  absolute_ = out.string();
  io::remove_stale_temporaries(parent.string(), out.filename().string());
  for (int attempt = 0; attempt < 100 && temp_.empty(); ++attempt) {
    std::string candidate = (parent / io::temporary_name(out.filename().string())).string();
    if (fs::create_directory(candidate, ec)) temp_ = candidate;
    else if (ec) break;
  }
  if (temp_.empty()) {
    throw Error(target + ": cannot create a directory in " + parent.string() +
                (ec ? " (" + ec.message() + ")" : ""));
  }
  fd_ = ::open(temp_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd_ >= 0) io::mark_in_use(fd_);
}

OutputDirectory::~OutputDirectory() {
  if (!committed_) {
    std::error_code ec;
    fs::remove_all(temp_, ec);
  }
  if (fd_ >= 0) ::close(fd_);
}

void OutputDirectory::fill(const std::function<void(const std::string& dir)>& write) {
  try {
    write(temp_);
  } catch (const Error& e) {
    std::string shown = target_;  // "model/" -> "model", so that "model/config.json" reads right
    while (shown.size() > 1 && shown.back() == '/') shown.pop_back();
    std::string message = e.what();
    for (size_t at = message.find(temp_); at != std::string::npos; at = message.find(temp_, at + shown.size())) {
      message.replace(at, temp_.size(), shown);
    }
    throw Error(message);
  }
}

void OutputDirectory::commit() {
  // The files are synced as they are written; this makes their names in it durable.
  if (fd_ >= 0) (void)::fsync(fd_);
  std::error_code ec;
  if (fs::exists(absolute_)) {
    if (!force_) throw Error(target_ + ": appeared while writing; not replaced");
    // One step: the target is the old or the new directory at every instant.
    if (rename_with_flags(temp_, absolute_, RENAME_EXCHANGE)) {
      committed_ = true;
      fs::remove_all(temp_, ec);  // the old directory now; a kill here leaves a stale temporary
    } else if (!flags_unsupported(errno)) {
      throw Error(target_ + ": cannot replace it (" + std::strerror(errno) + ")");
    } else {
      // No atomic exchange here: move the old one aside (under a temporary name, so a
      // crash in between leaves something the next run cleans up) and the new one in.
      fs::path parent = fs::path(absolute_).parent_path();
      std::string old = (parent / io::temporary_name(fs::path(absolute_).filename().string())).string();
      fs::rename(absolute_, old, ec);
      if (ec) throw Error(target_ + ": cannot replace it (" + ec.message() + ")");
      fs::rename(temp_, absolute_, ec);
      if (ec) {
        fs::rename(old, absolute_);
        throw Error(target_ + ": cannot move the new directory into place (" + ec.message() + ")");
      }
      committed_ = true;
      fs::remove_all(old, ec);
    }
  } else {
    // RENAME_NOREPLACE: a directory created meanwhile is not silently replaced.
    bool moved = rename_with_flags(temp_, absolute_, RENAME_NOREPLACE);
    if (!moved && flags_unsupported(errno)) moved = ::rename(temp_.c_str(), absolute_.c_str()) == 0;
    if (!moved) {
      int err = errno;
      if (err == EEXIST || err == ENOTEMPTY) throw Error(target_ + ": appeared while writing; not replaced");
      throw Error(target_ + ": cannot move the new directory into place (" + std::strerror(err) + ")");
    }
    committed_ = true;
  }
  sync_directory(fs::path(absolute_).parent_path().string());
}

}  // namespace lamina::convert
