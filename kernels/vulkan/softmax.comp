// Softmax of rows in float32: y = exp(x - max) / sum. Operands (strided over the outer
// shape): x, out. Extra parameters at STRIDED_END: n, x_step, out_step.
// Variant defines: T, SUBGROUPS (rows.glsl). A row of up to ROW_CACHE * WG_SIZE elements
// is loaded once and kept in registers.
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
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
  uint tid = gl_LocalInvocationID.x;
  if (n <= ROW_CACHE * WG_SIZE) {
    float xv[ROW_CACHE];
    float m = -1.0 / 0.0;
    [[unroll]] for (uint c = 0u; c < ROW_CACHE; ++c) {
      uint j = tid + c * WG_SIZE;
      xv[c] = -1.0 / 0.0;
      if (j < n) xv[c] = LOAD_F(T, x, off[0] + j * xs);
      m = max(m, xv[c]);
    }
    m = reduce_max(m);
    float s = 0.0;
    [[unroll]] for (uint c = 0u; c < ROW_CACHE; ++c) {
      uint j = tid + c * WG_SIZE;
      xv[c] = j < n ? exp(xv[c] - m) : 0.0;
      s += xv[c];
    }
    float inv = 1.0 / reduce_sum(s);
    [[unroll]] for (uint c = 0u; c < ROW_CACHE; ++c) {
      uint j = tid + c * WG_SIZE;
      if (j < n) STORE_F(T, dst, off[1] + j * os, xv[c] * inv);
    }
    return;
  }
  float m = -1.0 / 0.0;
  for (uint j = tid; j < n; j += WG_SIZE) {
    m = max(m, LOAD_F(T, x, off[0] + j * xs));
  }
  m = reduce_max(m);
  float s = 0.0;
  for (uint j = tid; j < n; j += WG_SIZE) {
    s += exp(LOAD_F(T, x, off[0] + j * xs) - m);
  }
  float inv = 1.0 / reduce_sum(s);
  for (uint j = tid; j < n; j += WG_SIZE) {
    STORE_F(T, dst, off[1] + j * os, exp(LOAD_F(T, x, off[0] + j * xs) - m) * inv);
  }
}
