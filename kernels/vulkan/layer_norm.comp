// Layer norm of rows: y = (x - mean) * rsqrt(var + eps) [* weight] [+ bias], float32
// arithmetic, mean and population variance in two passes as on the CPU (over registers
// for a row of up to ROW_CACHE * WG_SIZE elements, loaded once with its weight and bias).
// Operands (strided over the outer shape): x, out. Extra parameters at STRIDED_END:
// n, x_step, out_step, eps bits, has_weight, weight offset, has_bias, bias offset.
// Variant defines: T (x, out), W_T (weight and bias), SUBGROUPS (rows.glsl).
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "dtype.glsl"
#define NUM_OPERANDS 2u
#include "strided.glsl"
#include "rows.glsl"

#include "workgroup.glsl"
layout(std430, binding = 1) readonly buffer X { STORAGE(T) x[]; };
layout(std430, binding = 2) readonly buffer W { STORAGE(W_T) w[]; };
layout(std430, binding = 3) readonly buffer B { STORAGE(W_T) bias[]; };
layout(std430, binding = 4) writeonly buffer Out { STORAGE(T) dst[]; };

void main() {
  uint row = row_index();
  if (row >= P[0]) return;
  uint e = STRIDED_END;
  uint n = P[e], xs = P[e + 1u], os = P[e + 2u];
  float eps = uintBitsToFloat(P[e + 3u]);
  bool has_weight = P[e + 4u] != 0u, has_bias = P[e + 6u] != 0u;
  uint w_off = P[e + 5u], b_off = P[e + 7u];
  uint off[NUM_OPERANDS];
  strided_offsets(row, off);
  uint tid = gl_LocalInvocationID.x;
  if (n <= ROW_CACHE * WG_SIZE) {
    float xv[ROW_CACHE], wv[ROW_CACHE], bv[ROW_CACHE];
    float s = 0.0;
    [[unroll]] for (uint c = 0u; c < ROW_CACHE; ++c) {
      uint j = tid + c * WG_SIZE;
      xv[c] = 0.0;
      wv[c] = 1.0;
      bv[c] = 0.0;
      if (j < n) {
        xv[c] = LOAD_F(T, x, off[0] + j * xs);
        if (has_weight) wv[c] = LOAD_F(W_T, w, w_off + j);
        if (has_bias) bv[c] = LOAD_F(W_T, bias, b_off + j);
      }
      s += xv[c];
    }
    float mean = reduce_sum(s) / float(n);
    float ss = 0.0;
    [[unroll]] for (uint c = 0u; c < ROW_CACHE; ++c) {
      uint j = tid + c * WG_SIZE;
      float d = j < n ? xv[c] - mean : 0.0;
      ss += d * d;
    }
    float r = 1.0 / sqrt(reduce_sum(ss) / float(n) + eps);
    [[unroll]] for (uint c = 0u; c < ROW_CACHE; ++c) {
      uint j = tid + c * WG_SIZE;
      float v = (xv[c] - mean) * r;
      if (has_weight) v *= wv[c];
      if (has_bias) v += bv[c];
      if (j < n) STORE_F(T, dst, off[1] + j * os, v);
    }
    return;
  }
  float s = 0.0;
  for (uint j = tid; j < n; j += WG_SIZE) s += LOAD_F(T, x, off[0] + j * xs);
  float mean = reduce_sum(s) / float(n);
  float ss = 0.0;
  for (uint j = tid; j < n; j += WG_SIZE) {
    float d = LOAD_F(T, x, off[0] + j * xs) - mean;
    ss += d * d;
  }
  float r = 1.0 / sqrt(reduce_sum(ss) / float(n) + eps);
  for (uint j = tid; j < n; j += WG_SIZE) {
    float v = (LOAD_F(T, x, off[0] + j * xs) - mean) * r;
    if (has_weight) v *= LOAD_F(W_T, w, w_off + j);
    if (has_bias) v += LOAD_F(W_T, bias, b_off + j);
    STORE_F(T, dst, off[1] + j * os, v);
  }
}
