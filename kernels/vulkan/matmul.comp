// Tiled matmul: out[b, m, n] = sum_k a[b, m, k] * b[b, k, n], float32 accumulation, any
// strides (a transposed weight is read in place). 64x64 output tiles, 16-deep k slices in
// shared memory, 256 invocations each computing a 4x4 block. Batch dims are addressed by
// strided.glsl over the batch shape (operands a, b, out); extra parameters at
// STRIDED_END: M, N, K, a_stride_m, a_stride_k, b_stride_k, b_stride_n, addend offset.
// Specialisation constant 1: ADDEND (addend.glsl: c at binding 4, added in the store loop).
// Variant define: T (f32, f16, bf16; a, b and out share it).
#version 450
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"
#define NUM_OPERANDS 3u
#include "strided.glsl"

layout(local_size_x = 256) in;
layout(std430, binding = 1) readonly buffer A { STORAGE(T) a[]; };
layout(std430, binding = 2) readonly buffer B { STORAGE(T) b[]; };
layout(std430, binding = 3) writeonly buffer Out { STORAGE(T) dst[]; };
#define ADDEND_T T
#define ADDEND_BINDING 4
#define ADDEND_ID 1
#define ADDEND_PARAM (STRIDED_END + 7u)
#include "addend.glsl"

const uint BM = 64u, BN = 64u, BK = 16u;
shared float tile_a[BK][BM + 1u];
shared float tile_b[BK][BN + 1u];

void main() {
  uint e = STRIDED_END;
  uint M = P[e], N = P[e + 1u], K = P[e + 2u];
  uint a_sm = P[e + 3u], a_sk = P[e + 4u], b_sk = P[e + 5u], b_sn = P[e + 6u];
  uint off[NUM_OPERANDS];
  strided_offsets(gl_WorkGroupID.z, off);
  uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
  uint tid = gl_LocalInvocationID.x;
  uint tm = (tid / 16u) * 4u, tn = (tid % 16u) * 4u;
  float acc[4][4];
  for (uint i = 0u; i < 4u; ++i)
    for (uint j = 0u; j < 4u; ++j) acc[i][j] = 0.0;

  for (uint k0 = 0u; k0 < K; k0 += BK) {
    // 1024 elements of each tile, 4 per invocation.
    for (uint r = 0u; r < 4u; ++r) {
      uint idx = tid + r * 256u;
      uint kk = idx / BM, mm = idx % BM;  // a tile: consecutive invocations walk m
      uint gm = m0 + mm, gk = k0 + kk;
      tile_a[kk][mm] = (gm < M && gk < K) ? LOAD_F(T, a, off[0] + gm * a_sm + gk * a_sk) : 0.0;
      uint kb = idx / BN, nn = idx % BN;
      uint gn = n0 + nn, gkb = k0 + kb;
      tile_b[kb][nn] = (gn < N && gkb < K) ? LOAD_F(T, b, off[1] + gkb * b_sk + gn * b_sn) : 0.0;
    }
    barrier();
    for (uint kk = 0u; kk < BK; ++kk) {
      float av[4], bv[4];
      for (uint i = 0u; i < 4u; ++i) av[i] = tile_a[kk][tm + i];
      for (uint j = 0u; j < 4u; ++j) bv[j] = tile_b[kk][tn + j];
      for (uint i = 0u; i < 4u; ++i)
        for (uint j = 0u; j < 4u; ++j) acc[i][j] += av[i] * bv[j];
    }
    barrier();
  }
  for (uint i = 0u; i < 4u; ++i) {
    uint gm = m0 + tm + i;
    if (gm >= M) continue;
    for (uint j = 0u; j < 4u; ++j) {
      uint gn = n0 + tn + j;
      uint o = off[2] + gm * N + gn;
      if (gn < N) STORE_F(T, dst, o, plus_addend(acc[i][j], o));
    }
  }
}
