// Matrix-vector product for one output row (M = 1, the decode step): out[b, n] =
// sum_k a[b, k] * b[b, k, n]. One workgroup per ROWS outputs; its invocations split k and
// reduce in shared memory. Parameters as matmul.comp (M is 1).
// Variant define: T (f32, f16, bf16).
#version 450
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"
#define NUM_OPERANDS 3u
#include "strided.glsl"

#include "workgroup.glsl"
layout(std430, binding = 1) readonly buffer A { STORAGE(T) a[]; };
layout(std430, binding = 2) readonly buffer B { STORAGE(T) b[]; };
layout(std430, binding = 3) writeonly buffer Out { STORAGE(T) dst[]; };

const uint ROWS = 4u;
shared float partial[ROWS][1024];

void main() {
  uint e = STRIDED_END;
  uint N = P[e + 1u], K = P[e + 2u];
  uint a_sk = P[e + 4u], b_sk = P[e + 5u], b_sn = P[e + 6u];
  uint off[NUM_OPERANDS];
  strided_offsets(gl_WorkGroupID.z, off);
  uint local = WG_SIZE;
  uint tid = gl_LocalInvocationID.x;
  uint n0 = (gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x) * ROWS;
  float acc[ROWS];
  for (uint r = 0u; r < ROWS; ++r) acc[r] = 0.0;
  for (uint k = tid; k < K; k += local) {
    float av = LOAD_F(T, a, off[0] + k * a_sk);
    for (uint r = 0u; r < ROWS; ++r) {
      uint n = n0 + r;
      if (n < N) acc[r] += av * LOAD_F(T, b, off[1] + k * b_sk + n * b_sn);
    }
  }
  for (uint r = 0u; r < ROWS; ++r) partial[r][tid] = acc[r];
  barrier();
  for (uint s = local / 2u; s > 0u; s >>= 1) {
    if (tid < s) {
      for (uint r = 0u; r < ROWS; ++r) partial[r][tid] += partial[r][tid + s];
    }
    barrier();
  }
  if (tid < ROWS && n0 + tid < N) STORE_F(T, dst, off[2] + n0 + tid, partial[tid][0]);
}
