// Detects the instruction set the hand-vectorized kernels may use.
#include "kernels/cpu/isa.h"

#include <cstdlib>
#include <cstring>

namespace lamina::kernels {

namespace {
Isa detect() {
  if (const char* env = std::getenv("LAMINA_CPU_ISA"); env && std::strcmp(env, "scalar") == 0) {
    return Isa::scalar;
  }
#if LAMINA_HAS_X86_KERNELS
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
      __builtin_cpu_supports("f16c")) {
    return Isa::avx2;
  }
#endif
  return Isa::scalar;
}
bool detect_avx512() {
  if (best_isa() != Isa::avx2) return false;
  if (const char* env = std::getenv("LAMINA_CPU_ISA"); env && std::strcmp(env, "avx2") == 0) {
    return false;
  }
#if LAMINA_HAS_X86_KERNELS
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl");
#else
  return false;
#endif
}
}  // namespace

bool has_avx512() {
  static const bool avx512 = detect_avx512();
  return avx512;
}

Isa best_isa() {
  static const Isa isa = detect();
  return isa;
}

}  // namespace lamina::kernels
