// Ctrl-C during generation: the first SIGINT asks the running loop to stop (it finishes
// the current token and reports what it has), a second one ends the process as usual.
#pragma once

namespace lamina::cli {

// Installs the handler and clears any earlier request.
void watch_interrupts();
// True once Ctrl-C was pressed since watch_interrupts().
bool interrupted();

}  // namespace lamina::cli
