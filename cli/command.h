// Subcommand registry: each cli/<name>.cpp registers one subcommand with
// LAMINA_COMMAND(name, description, setup). setup adds the subcommand's flags to its
// CLI11 app and returns the function that runs it (returning the exit status).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace lamina::cli {

using CommandRunner = std::function<int()>;
using CommandSetup = std::function<CommandRunner(CLI::App& app)>;

struct Command {
  std::string name;
  std::string description;
  CommandSetup setup;
};

std::vector<Command>& commands();

struct CommandRegistration {
  CommandRegistration(std::string name, std::string description, CommandSetup setup) {
    commands().push_back({std::move(name), std::move(description), std::move(setup)});
  }
};

}  // namespace lamina::cli

#define LAMINA_COMMAND(NAME, DESCRIPTION, SETUP) \
  static ::lamina::cli::CommandRegistration lamina_command_##NAME(#NAME, DESCRIPTION, SETUP)
// For a subcommand whose name is not an identifier (e.g. "cache-prompt").
#define LAMINA_COMMAND_NAMED(ID, NAME, DESCRIPTION, SETUP) \
  static ::lamina::cli::CommandRegistration lamina_command_##ID(NAME, DESCRIPTION, SETUP)
