// Detects the instruction set the hand-vectorized kernels may use.
#include "kernels/cpu/isa.h"

#include <cstdlib>
#include <cstring>

#if LAMINA_HAS_X86_KERNELS
#include <cpuid.h>
#endif

namespace lamina::kernels {

namespace {
#if LAMINA_HAS_X86_KERNELS
// F16C (CPUID leaf 1, ECX bit 29), read directly: clang 14's __builtin_cpu_supports does
// not know "f16c".
bool has_f16c() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0;
}
#endif

Isa detect() {
  if (const char* env = std::getenv("LAMINA_CPU_ISA"); env && std::strcmp(env, "scalar") == 0) {
    return Isa::scalar;
  }
#if LAMINA_HAS_X86_KERNELS
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && has_f16c()) {
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

bool detect_avx512_vnni() {
#if LAMINA_HAS_X86_KERNELS
  return has_avx512() && __builtin_cpu_supports("avx512vnni");
#else
  return false;
#endif
}

// AVX-VNNI is CPUID leaf 7 sub-leaf 1, EAX bit 4 (not known to clang 14's
// __builtin_cpu_supports).
bool detect_avx_vnni() {
#if LAMINA_HAS_X86_KERNELS
  if (best_isa() != Isa::avx2) return false;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) && (eax & (1u << 4)) != 0;
#else
  return false;
#endif
}
}  // namespace

bool has_avx512_vnni() {
  static const bool vnni = detect_avx512_vnni();
  return vnni;
}

bool has_avx_vnni() {
  static const bool vnni = detect_avx_vnni();
  return vnni;
}

bool has_avx512() {
  static const bool avx512 = detect_avx512();
  return avx512;
}

Isa best_isa() {
  static const Isa isa = detect();
  return isa;
}

}  // namespace lamina::kernels
