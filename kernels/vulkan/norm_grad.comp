// Cotangent of x for rms_norm (RmsNormGrad) and layer_norm (LayerNormGrad, LAYER = 1),
// one workgroup per row, float32 arithmetic in the CPU's formulas (kernels/cpu/norm.h),
// with gw = g * weight (g when there is no weight):
//   rms:   r = 1 / sqrt(mean(x^2) + eps),    dx = r * gw - x * r^3 * dot(gw, x) / n
//   layer: r = 1 / sqrt(var(x) + eps),       dx = r * (gw - mean(gw) - xhat * m2),
//          xhat = (x - mean) * r,  m2 = r * (dot(gw, x) - mean * sum(gw)) / n
// Operands (strided over the rows' outer shape): x, g, out (row-major). Extra parameters at
// STRIDED_END: n, x step, g step, eps bits, has_weight, weight offset.
// Variant defines: T (x, out), W_T (weight), G_T (g), LAYER.
#version 450
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"
#define NUM_OPERANDS 3u
#include "strided.glsl"
#include "rows.glsl"

#include "workgroup.glsl"
layout(std430, binding = 1) readonly buffer X { STORAGE(T) x[]; };
layout(std430, binding = 2) readonly buffer W { STORAGE(W_T) w[]; };
layout(std430, binding = 3) readonly buffer G { STORAGE(G_T) g[]; };
layout(std430, binding = 4) writeonly buffer Out { STORAGE(T) dst[]; };

uint off[NUM_OPERANDS];
uint xs, gs, w_off;
bool has_weight;

float load_x(uint j) { return LOAD_F(T, x, off[0] + j * xs); }
float load_gw(uint j) {
  float v = LOAD_F(G_T, g, off[1] + j * gs);
  return has_weight ? v * LOAD_F(W_T, w, w_off + j) : v;
}

void main() {
  uint row = row_index();
  if (row >= P[0]) return;
  uint e = STRIDED_END;
  uint n = P[e];
  xs = P[e + 1u];
  gs = P[e + 2u];
  float eps = uintBitsToFloat(P[e + 3u]);
  has_weight = P[e + 4u] != 0u;
  w_off = P[e + 5u];
  strided_offsets(row, off);
  float inv_n = 1.0 / float(n);
#if LAYER
  float s = 0.0;
  for (uint j = gl_LocalInvocationID.x; j < n; j += WG_SIZE) s += load_x(j);
  float mean = reduce_sum(s) / float(n);
  float ss = 0.0, sum_gw = 0.0, dot_gw_x = 0.0;
  for (uint j = gl_LocalInvocationID.x; j < n; j += WG_SIZE) {
    float v = load_x(j), gw = load_gw(j);
    ss += (v - mean) * (v - mean);
    sum_gw += gw;
    dot_gw_x += gw * v;
  }
  float r = 1.0 / sqrt(reduce_sum(ss) / float(n) + eps);
  sum_gw = reduce_sum(sum_gw);
  dot_gw_x = reduce_sum(dot_gw_x);
  float m1 = sum_gw * inv_n;
  float m2 = r * (dot_gw_x - mean * sum_gw) * inv_n;
  for (uint j = gl_LocalInvocationID.x; j < n; j += WG_SIZE) {
    float xhat = (load_x(j) - mean) * r;
    STORE_F(T, dst, off[2] + j, r * (load_gw(j) - m1 - xhat * m2));
  }
#else
  float ss = 0.0, dot_gw_x = 0.0;
  for (uint j = gl_LocalInvocationID.x; j < n; j += WG_SIZE) {
    float v = load_x(j);
    ss += v * v;
    dot_gw_x += load_gw(j) * v;
  }
  float r = 1.0 / sqrt(reduce_sum(ss) / float(n) + eps);
  float c = reduce_sum(dot_gw_x) * r * r * r / float(n);
  for (uint j = gl_LocalInvocationID.x; j < n; j += WG_SIZE) {
    STORE_F(T, dst, off[2] + j, r * load_gw(j) - c * load_x(j));
  }
#endif
}
