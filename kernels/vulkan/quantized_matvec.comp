// Quantized matrix-vector product for a few input rows (the decode step):
// out[m, n] = sum_k x[m, k] * W[n, k], W affine-quantized (quantized.glsl). One workgroup
// per ROWS outputs n of one input row m (workgroup z); its invocations take 32-code packs
// along k, apply each pack's scale to sum(x * code) and its bias to sum(x), and combine
// in float32 through subgroup arithmetic (SUBGROUPS) or shared memory.
// x rows are addressed by strided.glsl over x's leading shape (operand x); extra
// parameters at STRIDED_END: N, K, x_stride_k, weight word offset (the packed weight is
// row-major), scales offset, biases offset, scales row and group strides, biases row and
// group strides. out is row-major [M, N].
// Variant defines: X_T, S_T (scales and biases), OUT_T, SUBGROUPS.
#version 450
#extension GL_GOOGLE_include_directive : require
#if SUBGROUPS
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif
#include "dtype.glsl"
#define NUM_OPERANDS 1u
#include "strided.glsl"
#include "workgroup.glsl"
#include "quantized.glsl"

layout(std430, binding = 1) readonly buffer X { STORAGE(X_T) x[]; };
layout(std430, binding = 2) readonly buffer W { uint wq[]; };
layout(std430, binding = 3) readonly buffer S { STORAGE(S_T) scales[]; };
layout(std430, binding = 4) readonly buffer B { STORAGE(S_T) biases[]; };
layout(std430, binding = 5) writeonly buffer Out { STORAGE(OUT_T) dst[]; };

const uint ROWS = 4u;
shared float partial[ROWS][256];  // WG_SIZE <= 256

void main() {
  uint e = STRIDED_END;
  uint N = P[e], K = P[e + 1u], xs = P[e + 2u];
  uint w_off = P[e + 3u], s_off = P[e + 4u], b_off = P[e + 5u];
  uint s_row = P[e + 6u], s_group = P[e + 7u], b_row = P[e + 8u], b_group = P[e + 9u];
  uint m = gl_WorkGroupID.z;
  uint n0 = (gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x) * ROWS;
  uint tid = gl_LocalInvocationID.x;
  uint row_off[NUM_OPERANDS];
  strided_offsets(m, row_off);
  uint packs = K / 32u, row_words = packs * BITS;

  float acc[ROWS];
  for (uint r = 0u; r < ROWS; ++r) acc[r] = 0.0;
  for (uint p = tid; p < packs; p += WG_SIZE) {
    float xv[32];
    float xsum = 0.0;
    for (uint j = 0u; j < 32u; ++j) {
      xv[j] = LOAD_F(X_T, x, row_off[0] + (p * 32u + j) * xs);
      xsum += xv[j];
    }
    uint g = p * 32u / GROUP_SIZE;
    for (uint r = 0u; r < ROWS; ++r) {
      uint n = n0 + r;
      if (n >= N) break;
      uint words[8];
      for (uint i = 0u; i < BITS; ++i) words[i] = wq[w_off + n * row_words + p * BITS + i];
      float dot = 0.0;
      for (uint j = 0u; j < 32u; ++j) dot += xv[j] * float(pack_code(words, j));
      acc[r] += LOAD_F(S_T, scales, s_off + n * s_row + g * s_group) * dot +
                LOAD_F(S_T, biases, b_off + n * b_row + g * b_group) * xsum;
    }
  }

#if SUBGROUPS
  for (uint r = 0u; r < ROWS; ++r) acc[r] = subgroupAdd(acc[r]);
  if (subgroupElect()) {
    for (uint r = 0u; r < ROWS; ++r) partial[r][gl_SubgroupID] = acc[r];
  }
  barrier();
  if (tid < ROWS && n0 + tid < N) {
    float total = 0.0;
    for (uint s = 0u; s < gl_NumSubgroups; ++s) total += partial[tid][s];
    STORE_F(OUT_T, dst, m * N + n0 + tid, total);
  }
#else
  for (uint r = 0u; r < ROWS; ++r) partial[r][tid] = acc[r];
  barrier();
  for (uint s = WG_SIZE / 2u; s > 0u; s >>= 1) {
    if (tid < s) {
      for (uint r = 0u; r < ROWS; ++r) partial[r][tid] += partial[r][tid + s];
    }
    barrier();
  }
  if (tid < ROWS && n0 + tid < N) STORE_F(OUT_T, dst, m * N + n0 + tid, partial[tid][0]);
#endif
}
