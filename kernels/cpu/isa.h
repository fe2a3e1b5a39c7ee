// Runtime choice of the instruction set for the hand-vectorized CPU kernels: each kernel
// has a scalar reference path and an AVX2 (+FMA, F16C) path picked once at run time.
#pragma once

namespace lamina::kernels {

enum class Isa { scalar, avx2 };

// Returns the best instruction set this CPU supports. LAMINA_CPU_ISA=scalar forces the
// scalar reference paths (for comparisons and debugging).
Isa best_isa();

// True when the CPU also has AVX-512 (F, BW, VL) and best_isa() is avx2: kernels with an
// AVX-512 variant use it then. LAMINA_CPU_ISA=avx2 turns it off (for comparisons).
bool has_avx512();

// True when the CPU has AVX-512 VNNI (vpdpbusd on 512-bit vectors) and has_avx512().
bool has_avx512_vnni();

// True when the CPU has AVX-VNNI (the VEX-encoded 256-bit vpdpbusd) and best_isa() is avx2.
// LAMINA_CPU_ISA=avx2 leaves it on: it is an AVX2-width instruction.
bool has_avx_vnni();

}  // namespace lamina::kernels

// Marks a function compiled for AVX2 + FMA + F16C; only called when best_isa() says so.
#if defined(__x86_64__) || defined(__i386__)
#define LAMINA_HAS_X86_KERNELS 1
#define LAMINA_TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))
#define LAMINA_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))
#else
#define LAMINA_TARGET_AVX512
#define LAMINA_HAS_X86_KERNELS 0
#define LAMINA_TARGET_AVX2
#endif
