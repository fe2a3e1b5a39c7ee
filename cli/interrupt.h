// Ctrl-C (SIGINT) or SIGTERM during generation or training: the first signal asks the
// running loop to stop (generation finishes the current token and reports what it has,
// `lora` finishes the current step and saves a checkpoint) and the command exits with
// 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM), as a shell reports a
// process ended by that signal; a second one ends the process as usual.
#pragma once

namespace lamina::cli {

// Installs the handlers and clears any earlier request.
void watch_interrupts();
// True once SIGINT or SIGTERM arrived since watch_interrupts().
bool interrupted();
// The exit status for an interrupted command: 128 + the signal (130 when none arrived).
int interrupted_exit_status();

}  // namespace lamina::cli
