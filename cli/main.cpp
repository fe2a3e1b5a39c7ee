// The lamina binary: dispatches to the registered subcommands. Errors become one line on
// stderr and a non-zero exit status.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <exception>
#include <iostream>
#include <map>
#include <new>

#include "cli/command.h"
#include "libcore/error.h"

namespace lamina::cli {
std::vector<Command>& commands() {
  static std::vector<Command> list;
  return list;
}
}  // namespace lamina::cli

int main(int argc, char** argv) {
  using namespace lamina::cli;
  CLI::App app{"lamina: convert, quantize, run and fine-tune LLMs on CPU and Vulkan GPUs"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "lamina 0.1.0");
  auto& list = commands();
  std::sort(list.begin(), list.end(), [](const Command& a, const Command& b) { return a.name < b.name; });
  std::map<CLI::App*, CommandRunner> runners;
  for (auto& command : list) {
    CLI::App* sub = app.add_subcommand(command.name, command.description);
    runners[sub] = command.setup(*sub);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, like every other error (CLI11 would add a second "Run with --help").
    std::cerr << "lamina: error: " << e.what() << " (see lamina --help)\n";
    return 2;
  }
  try {
    for (auto& [sub, run] : runners) {
      if (sub->parsed()) return run();
    }
    return 2;
  } catch (const lamina::Error& e) {
    std::cerr << "lamina: error: " << e.what() << "\n";
    return 1;
  } catch (const std::bad_alloc&) {
    std::cerr << "lamina: error: out of memory\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "lamina: error: " << e.what() << "\n";
    return 1;
  }
}
