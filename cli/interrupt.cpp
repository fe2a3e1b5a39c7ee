// SIGINT handling for generation and training loops.
#include "cli/interrupt.h"

#include <csignal>

namespace lamina::cli {
namespace {

volatile std::sig_atomic_t g_interrupted = 0;

void on_sigint(int) {
  g_interrupted = 1;
  std::signal(SIGINT, SIG_DFL);
}

}  // namespace

void watch_interrupts() {
  g_interrupted = 0;
  std::signal(SIGINT, on_sigint);
}

bool interrupted() { return g_interrupted != 0; }

}  // namespace lamina::cli
