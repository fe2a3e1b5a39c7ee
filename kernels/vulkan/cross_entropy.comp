// Cross-entropy of logits rows (CrossEntropy) and its logits cotangent (CrossEntropyGrad,
// GRAD = 1), one workgroup per row, float32 arithmetic as kernels/cpu/cross_entropy.h:
//   loss = (m - x[t]) + log(sum exp(x - m)),  m = max(x)
//   dx   = g * (exp(x - m) / sum - onehot(t))  (g * exp(x - m) when m is infinite)
// An infinite m leaves the sum at 1, as on the CPU. A target outside [0, n) gives NaN (the
// CPU throws; the GPU cannot). Operands (strided over the rows' outer shape): logits,
// targets, [g (float32), GRAD only], out (row-major). Extra parameters at STRIDED_END: n,
// logits' step along the row. Variant defines: T (logits, dx), I_T (targets), GRAD.
#version 450
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"
#if GRAD
#define NUM_OPERANDS 4u
#else
#define NUM_OPERANDS 3u
#endif
#include "strided.glsl"
#include "rows.glsl"

#include "workgroup.glsl"
layout(std430, binding = 1) readonly buffer X { STORAGE(T) x[]; };
layout(std430, binding = 2) readonly buffer Targets { STORAGE(I_T) targets[]; };
#if GRAD
layout(std430, binding = 3) readonly buffer G { float g[]; };
layout(std430, binding = 4) writeonly buffer Out { STORAGE(T) dst[]; };
#else
layout(std430, binding = 3) writeonly buffer Out { float dst[]; };
#endif

void main() {
  uint row = row_index();
  if (row >= P[0]) return;
  uint e = STRIDED_END;
  uint n = P[e], xs = P[e + 1u];
  uint off[NUM_OPERANDS];
  strided_offsets(row, off);
  int target = LOAD_I(I_T, targets, off[1]);
  bool target_ok = target >= 0 && uint(target) < n;

  float m = -1.0 / 0.0;
  for (uint j = gl_LocalInvocationID.x; j < n; j += WG_SIZE) m = max(m, LOAD_F(T, x, off[0] + j * xs));
  m = reduce_max(m);
  bool infinite = isinf(m);
  float sum_exp = 1.0;
  if (!infinite) {
    float s = 0.0;
    for (uint j = gl_LocalInvocationID.x; j < n; j += WG_SIZE) s += exp(LOAD_F(T, x, off[0] + j * xs) - m);
    sum_exp = reduce_sum(s);
  }
  const float nan = uintBitsToFloat(0x7fc00000u);
#if GRAD
  float gr = g[off[2]];
  float c = gr / sum_exp;
  for (uint j = gl_LocalInvocationID.x; j < n; j += WG_SIZE) {
    float v = exp(LOAD_F(T, x, off[0] + j * xs) - m);
    v = infinite ? gr * v : v * c;
    if (j == uint(target)) v -= gr;
    STORE_F(T, dst, off[3] + j, target_ok ? v : nan);
  }
#else
  if (gl_LocalInvocationID.x == 0u) {
    float xt = target_ok ? LOAD_F(T, x, off[0] + uint(target) * xs) : nan;
    dst[off[2]] = (m - xt) + log(sum_exp);
  }
#endif
}
