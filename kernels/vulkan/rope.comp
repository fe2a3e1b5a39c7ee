// Rotary embedding: rows of x ([..., T, n]) rotated by the angle (position * scale) *
// inv_freq[i] on pairs (2i, 2i+1) (traditional) or (i, i + dims/2); features from dims on
// are copied. One invocation per (row, pair or copied feature). Operands (strided over the
// outer shape [..., T]): x, out. Extra parameters at STRIDED_END:
//   n, dims, traditional, inverse, seq (T), offset, scale bits, has_freqs, freqs offset,
//   rows_per_batch, has_offsets, offsets offset, then inv_freq[dims / 2] bits (no freqs).
// Variant defines: T (x, out), F_T (freqs), O_T (offsets; i32).
#version 450
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"
#define NUM_OPERANDS 2u
#include "strided.glsl"

#include "workgroup.glsl"
layout(std430, binding = 1) readonly buffer X { STORAGE(T) x[]; };
layout(std430, binding = 2) readonly buffer F { STORAGE(F_T) freqs[]; };
layout(std430, binding = 3) readonly buffer O { STORAGE(O_T) offsets[]; };
layout(std430, binding = 4) writeonly buffer Out { STORAGE(T) dst[]; };

void main() {
  uint e = STRIDED_END;
  uint n = P[e], dims = P[e + 1u];
  bool traditional = P[e + 2u] != 0u, inverse = P[e + 3u] != 0u;
  uint seq = P[e + 4u];
  int offset = int(P[e + 5u]);
  float scale = uintBitsToFloat(P[e + 6u]);
  bool has_freqs = P[e + 7u] != 0u;
  uint f_off = P[e + 8u], rows_per_batch = P[e + 9u];
  bool has_offsets = P[e + 10u] != 0u;
  uint o_off = P[e + 11u];
  uint half_dims = dims / 2u;
  uint per_row = half_dims + (n - dims);
  uint id = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * WG_SIZE;
  uint row = id / per_row, j = id % per_row;
  if (row >= P[0]) return;
  uint off[NUM_OPERANDS];
  strided_offsets(row, off);
  uint xs = P[e + 12u + half_dims], os = P[e + 13u + half_dims];  // last-axis steps
  if (j >= half_dims) {
    uint f = dims + (j - half_dims);
    STORE_F(T, dst, off[1] + f * os, LOAD_F(T, x, off[0] + f * xs));
    return;
  }
  if (has_offsets) offset = LOAD_I(O_T, offsets, o_off + row / rows_per_batch);
  float position = float(offset + int(row % seq)) * scale;
  float inv_freq = has_freqs ? 1.0 / LOAD_F(F_T, freqs, f_off + j) : uintBitsToFloat(P[e + 12u + j]);
  float angle = position * inv_freq;
  float c = cos(angle), s = sin(angle);
  if (inverse) s = -s;
  uint ia = traditional ? 2u * j : j;
  uint ib = traditional ? 2u * j + 1u : j + half_dims;
  float a = LOAD_F(T, x, off[0] + ia * xs), b = LOAD_F(T, x, off[0] + ib * xs);
  STORE_F(T, dst, off[1] + ia * os, a * c - b * s);
  STORE_F(T, dst, off[1] + ib * os, a * s + b * c);
}
