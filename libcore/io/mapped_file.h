// MappedFile: a whole file mapped read-only into memory, owned through a shared_ptr so
// that arrays viewing its bytes keep the mapping alive.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace lamina::io {

class MappedFile {
 public:
  // Maps the regular file at `path` read-only; throws lamina::Error naming it when it cannot
  // be opened, is not a regular file or cannot be mapped. An empty file maps to size() == 0.
  static std::shared_ptr<MappedFile> open(const std::string& path);

  // Only open() can make the key, so every mapping is created checked and shared_ptr-owned.
  class Key {
    friend class MappedFile;
    Key() = default;
  };
  MappedFile(Key, std::string path, void* data, size_t size)
      : path_(std::move(path)), data_(data), size_(size) {}
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // The first byte of the file (nullptr for an empty file).
  const uint8_t* data() const { return static_cast<const uint8_t*>(data_); }
  // The file's size in bytes when it was mapped.
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  void* data_;
  size_t size_;
};

}  // namespace lamina::io
