// Ctrl-C (SIGINT), SIGTERM or a closed stdout (SIGPIPE, e.g. `lamina lora --json | head`)
// during generation or training: the first signal asks the running loop to stop
// (generation finishes the current token and reports what it has, `lora` finishes the
// current step and saves a checkpoint) and the command exits with 128 + the signal's
// number (130 for Ctrl-C, 143 for SIGTERM, 141 for SIGPIPE), as a shell reports a process
// ended by that signal. A second SIGINT/SIGTERM ends the process as usual; later SIGPIPEs
// are ignored (writes to the closed pipe just fail) so that the checkpoint is saved.
#pragma once

namespace lamina::cli {

// Installs the handlers and clears any earlier request.
void watch_interrupts();
// True once SIGINT, SIGTERM or SIGPIPE arrived since watch_interrupts().
bool interrupted();
// The exit status for an interrupted command: 128 + the signal (130 when none arrived).
int interrupted_exit_status();

}  // namespace lamina::cli
