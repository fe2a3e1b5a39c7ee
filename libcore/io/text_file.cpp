// Size-capped whole-file reads (see text_file.h).
#include "libcore/io/text_file.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "libcore/error.h"

namespace lamina::io {

std::string read_text_file(const std::string& path, uint64_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open: " + std::strerror(errno));
  const std::string limit = std::to_string(max_bytes) + "-byte limit for a file of this kind";
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > max_bytes) {
    throw Error(path + ": the file has " + std::to_string(size) + " bytes, more than the " + limit);
  }
  // Chunked, so that a file that is not what its size said (a pipe, a growing file) is
  // still cut off at the limit.
  std::string text;
  std::array<char, 1 << 16> chunk{};
  while (in) {
    in.read(chunk.data(), chunk.size());
    text.append(chunk.data(), static_cast<size_t>(in.gcount()));
    if (text.size() > max_bytes) throw Error(path + ": the file is larger than the " + limit);
  }
  if (in.bad()) throw Error(path + ": read failed");
  return text;
}

}  // namespace lamina::io
