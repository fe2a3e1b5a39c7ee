// Runs the built `lamina` binary for end-to-end tests, capturing stdout and stderr.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace lamina::test {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Runs `lamina <args>` (args already shell-quoted as needed); scratch holds the captures.
inline RunResult run_lamina(const std::string& args, const std::string& scratch) {
  std::string out = scratch + "/stdout.txt", err = scratch + "/stderr.txt";
  std::string command =
      std::string("'") + LAMINA_BINARY + "' " + args + " > '" + out + "' 2> '" + err + "'";
  int status = std::system(command.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_whole_file(out);
  r.err = read_whole_file(err);
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  return r;
}

inline std::string quoted(const std::string& s) { return "'" + s + "'"; }

// Copies a model directory (its regular files) to `to`.
inline void copy_model(const std::string& from, const std::string& to) {
  std::filesystem::create_directories(to);
  for (const auto& e : std::filesystem::directory_iterator(from)) {
    if (e.is_regular_file()) std::filesystem::copy_file(e.path(), to + "/" + e.path().filename().string());
  }
}

}  // namespace lamina::test
