// Read-only mmap of a file; the mapping lives as long as the last shared_ptr to it.
#include "libcore/io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "libcore/error.h"

namespace lamina::io {

namespace {

std::string errno_text() { return std::strerror(errno); }

// Closes the descriptor when open() leaves, however it leaves: the mapping does not need it.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::shared_ptr<MappedFile> MappedFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(path + ": cannot open: " + errno_text());
  FdCloser closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw Error(path + ": cannot stat: " + errno_text());
  if (!S_ISREG(st.st_mode)) throw Error(path + ": not a regular file");
  auto size = static_cast<size_t>(st.st_size);
  void* data = nullptr;
  // mmap rejects a zero length; an empty file is simply a mapping of nothing.
  if (size > 0) {
    // MAP_PRIVATE + PROT_READ: arrays must never write into a checkpoint, and a stray write
    // should fault rather than reach the file.
    data = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (data == MAP_FAILED) throw Error(path + ": cannot map: " + errno_text());
  }
  return std::make_shared<MappedFile>(Key{}, path, data, size);
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

}  // namespace lamina::io
