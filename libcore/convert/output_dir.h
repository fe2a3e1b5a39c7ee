// OutputDirectory: builds a model directory under a temporary name beside the target
// and renames it into place only when complete (the old one replaced only with --force).
#pragma once

#include <string>

namespace lamina::convert {

class OutputDirectory {
 public:
  // Refuses (lamina::Error) when `target` exists and !force, or when it is (or is inside)
  // `input_dir`. Creates the temporary directory.
  OutputDirectory(const std::string& target, const std::string& input_dir, bool force);
  // Removes the temporary directory unless commit() ran.
  ~OutputDirectory();
  OutputDirectory(const OutputDirectory&) = delete;
  OutputDirectory& operator=(const OutputDirectory&) = delete;

  // Where to write files now.
  const std::string& path() const { return temp_; }
  // Moves the finished directory to its target name.
  void commit();

 private:
  std::string target_, temp_;
  bool force_;
  bool committed_ = false;
};

}  // namespace lamina::convert
