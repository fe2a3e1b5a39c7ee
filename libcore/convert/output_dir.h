// OutputDirectory: builds a model directory under a temporary name beside the target
// and renames it into place only when complete (the old one replaced only with --force).
#pragma once

#include <functional>
#include <string>

namespace lamina::convert {

class OutputDirectory {
 public:
  // Refuses (lamina::Error) when `target` exists and !force, or when it is (or is inside)
  // `input_dir` (unless that is empty). Removes temporaries that killed runs left for the
  // same target, then creates this run's temporary directory.
  OutputDirectory(const std::string& target, const std::string& input_dir, bool force);
  // Removes the temporary directory unless commit() ran.
  ~OutputDirectory();
  OutputDirectory(const OutputDirectory&) = delete;
  OutputDirectory& operator=(const OutputDirectory&) = delete;

  // Where to write files now.
  const std::string& path() const { return temp_; }
  // Runs `write(path())`; a lamina::Error it throws is thrown again with the temporary
  // directory's name replaced by the target's, the name the user knows.
  void fill(const std::function<void(const std::string& dir)>& write);
  // Syncs the finished directory and moves it to its target name; with force, an existing
  // target is swapped out in one step (so the target is never missing) and then removed.
  void commit();

 private:
  std::string target_;   // as given, for messages
  std::string absolute_; // where it goes
  std::string temp_;
  bool force_;
  int fd_ = -1;  // the temporary directory, open for its in-use lock and for fsync
  bool committed_ = false;
};

}  // namespace lamina::convert
