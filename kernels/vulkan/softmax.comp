// Softmax of rows in float32: y = exp(x - max) / sum. Operands (strided over the outer
// shape): x, out. Extra parameters at STRIDED_END: n, x_step, out_step.
// Variant define: T.
#version 450
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"
#define NUM_OPERANDS 2u
#include "strided.glsl"
#include "rows.glsl"

#include "workgroup.glsl"
layout(std430, binding = 1) readonly buffer X { STORAGE(T) x[]; };
layout(std430, binding = 2) buffer Out { STORAGE(T) dst[]; };

void main() {
  uint row = row_index();
  if (row >= P[0]) return;
  uint e = STRIDED_END;
  uint n = P[e], xs = P[e + 1u], os = P[e + 2u];
  uint off[NUM_OPERANDS];
  strided_offsets(row, off);
  float m = -1.0 / 0.0;
  for (uint j = gl_LocalInvocationID.x; j < n; j += WG_SIZE) {
    m = max(m, LOAD_F(T, x, off[0] + j * xs));
  }
  m = reduce_max(m);
  float s = 0.0;
  for (uint j = gl_LocalInvocationID.x; j < n; j += WG_SIZE) {
    s += exp(LOAD_F(T, x, off[0] + j * xs) - m);
  }
  float inv = 1.0 / reduce_sum(s);
  for (uint j = gl_LocalInvocationID.x; j < n; j += WG_SIZE) {
    STORE_F(T, dst, off[1] + j * os, exp(LOAD_F(T, x, off[0] + j * xs) - m) * inv);
  }
}
