// SIGINT/SIGTERM/SIGPIPE handling for generation and training loops.
#include "cli/interrupt.h"

#include <csignal>

namespace lamina::cli {
namespace {

volatile std::sig_atomic_t g_signal = 0;

void on_signal(int signal) {
  if (g_signal == 0) g_signal = signal;
  std::signal(signal, signal == SIGPIPE ? SIG_IGN : SIG_DFL);
}

}  // namespace

void watch_interrupts() {
  g_signal = 0;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, on_signal);
}

bool interrupted() { return g_signal != 0; }

int interrupted_exit_status() { return 128 + (g_signal != 0 ? static_cast<int>(g_signal) : SIGINT); }

}  // namespace lamina::cli
