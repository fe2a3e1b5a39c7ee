// RMS norm of rows: y = x * rsqrt(mean(x^2) + eps) [* weight], float32 arithmetic; with a
// residual r, of x + r rounded to T (as add() stores it). Operands (strided over the outer
// shape): x, out, r. Extra parameters at STRIDED_END: n, x_step, out_step, eps bits,
// has_weight, w_off, has_residual, r_step. Variant defines: T (x, out, r), W_T (weight),
// SUBGROUPS (rows.glsl). A row of up to ROW_CACHE * WG_SIZE elements is loaded once, with
// its weights, before the reduction: one round of memory latency instead of three.
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "dtype.glsl"
#define NUM_OPERANDS 3u
#include "strided.glsl"
#include "rows.glsl"

#include "workgroup.glsl"
layout(std430, binding = 1) readonly buffer X { STORAGE(T) x[]; };
layout(std430, binding = 2) readonly buffer W { STORAGE(W_T) w[]; };
layout(std430, binding = 3) writeonly buffer Out { STORAGE(T) dst[]; };
layout(std430, binding = 4) readonly buffer R { STORAGE(T) r[]; };

uint off[NUM_OPERANDS];
uint xs, rs;
bool has_residual;

// Element j of the row: x, or x + r rounded to T.
float load_x(uint j) {
  float v = LOAD_F(T, x, off[0] + j * xs);
  return has_residual ? ROUND_F(T, v + LOAD_F(T, r, off[2] + j * rs)) : v;
}

void main() {
  uint row = row_index();
  if (row >= P[0]) return;
  uint e = STRIDED_END;
  uint n = P[e], os = P[e + 2u];
  xs = P[e + 1u];
  float eps = uintBitsToFloat(P[e + 3u]);
  bool has_weight = P[e + 4u] != 0u;
  uint w_off = P[e + 5u];
  has_residual = P[e + 6u] != 0u;
  rs = P[e + 7u];
  strided_offsets(row, off);
  uint tid = gl_LocalInvocationID.x;
  if (n <= ROW_CACHE * WG_SIZE) {
    float xv[ROW_CACHE], wv[ROW_CACHE];
    float ss = 0.0;
    [[unroll]] for (uint c = 0u; c < ROW_CACHE; ++c) {
      uint j = tid + c * WG_SIZE;
      xv[c] = 0.0;
      wv[c] = 1.0;
      if (j < n) {
        xv[c] = load_x(j);
        if (has_weight) wv[c] = LOAD_F(W_T, w, w_off + j);
      }
      ss += xv[c] * xv[c];
    }
    float r = inversesqrt(reduce_sum(ss) / float(n) + eps);
    [[unroll]] for (uint c = 0u; c < ROW_CACHE; ++c) {
      uint j = tid + c * WG_SIZE;
      if (j < n) STORE_F(T, dst, off[1] + j * os, has_weight ? xv[c] * r * wv[c] : xv[c] * r);
    }
    return;
  }
  float ss = 0.0;
  for (uint j = tid; j < n; j += WG_SIZE) {
    float v = load_x(j);
    ss += v * v;
  }
  float r = inversesqrt(reduce_sum(ss) / float(n) + eps);
  for (uint j = tid; j < n; j += WG_SIZE) {
    float v = load_x(j) * r;
    if (has_weight) v *= LOAD_F(W_T, w, w_off + j);
    STORE_F(T, dst, off[1] + j * os, v);
  }
}
