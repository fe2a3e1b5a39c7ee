// AtomicFile: writes an output under a temporary name in the target's directory and renames
// it into place only on commit(), so a reader never sees a half-written file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace lamina::io {

class AtomicFile {
 public:
  // Creates a new temporary file beside `target` (same directory, so the final rename stays
  // on one file system); throws lamina::Error naming `target` when it cannot.
  explicit AtomicFile(std::string target);
  // Removes the temporary file unless commit() succeeded.
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Appends bytes; throws lamina::Error naming the target on any failure (ENOSPC, EFBIG...).
  void write(const void* data, size_t bytes);
  void write(const std::string& text) { write(text.data(), text.size()); }
  // Flushes to disk (fsync) and renames the temporary file to the target, replacing any
  // file there; throws lamina::Error naming the target on failure (the temp is removed).
  void commit();
  // Closes and removes the temporary file now (what the destructor does when uncommitted).
  void discard() noexcept;

  const std::string& target() const { return target_; }
  const std::string& temp_path() const { return temp_; }
  uint64_t bytes_written() const { return written_; }
  bool committed() const { return committed_; }

 private:
  std::string target_;
  std::string temp_;
  int fd_ = -1;
  uint64_t written_ = 0;
  bool committed_ = false;
};

// Writes `text` to `path` through an AtomicFile (synced, never seen half-written).
void write_file_atomically(const std::string& path, const std::string& text);
// Copies the file `source` to `target` through an AtomicFile; errors name the file at fault.
void copy_file_atomically(const std::string& source, const std::string& target);

}  // namespace lamina::io
