// Ctrl-C during generation or training: the first SIGINT asks the running loop to stop
// (generation finishes the current token and reports what it has, `lora` finishes the
// current step and saves a checkpoint) and the command exits with status 130, as a shell
// reports a process ended by SIGINT; a second one ends the process as usual.
#pragma once

namespace lamina::cli {

// Installs the handler and clears any earlier request.
void watch_interrupts();
// True once Ctrl-C was pressed since watch_interrupts().
bool interrupted();

}  // namespace lamina::cli
