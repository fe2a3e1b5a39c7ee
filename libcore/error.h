// lamina::Error: the one exception type thrown at the edges (bad files, bad input).
#pragma once

#include <stdexcept>
#include <string>

namespace lamina {

// An error a user can act on; what() is one line naming the file/tensor/flag at fault.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace lamina
