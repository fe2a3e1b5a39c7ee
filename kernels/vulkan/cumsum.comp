// CumSum along rows ("lanes"): out[k] = sum of in[j] for j before k (after k when
// reversed), plus in[k] when inclusive. Float dtypes accumulate in double-float (a float32
// pair, about 48 bits: the CPU accumulates in double) and round once to the output dtype;
// integers wrap in 32 bits as on the CPU. The order of additions differs from the CPU's, so
// float results can differ in the last bit, rarely.
// Specialisation constants: 0 workgroup size, 1 PER_INVOCATION (1: one invocation scans
// one lane alone, for many short or strided lanes; 0: one workgroup per lane, chunks of
// WG_SIZE * PER_THREAD elements scanned through shared memory with a running carry).
// Parameters: strided.glsl's block over the lanes (operand 0 the input, 1 the output),
// then n, input axis stride, output axis stride, reverse, inclusive.
// Variant defines: IN_T, OUT_T, ACC_KIND (0 float, 1 int, 2 uint).
#version 450
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"
#define NUM_OPERANDS 2u
#include "strided.glsl"

#include "workgroup.glsl"
layout(constant_id = 1) const uint PER_INVOCATION = 0u;

layout(std430, binding = 1) readonly buffer In { STORAGE(IN_T) src[]; };
layout(std430, binding = 2) writeonly buffer Out { STORAGE(OUT_T) dst[]; };

const uint PER_THREAD = 8u;

#if ACC_KIND == 0
// (hi, lo) with hi + lo the value and |lo| at most half an ulp of hi.
#define ACC vec2
#define ZERO vec2(0.0)
#define LOAD(i) vec2(LOAD_F(IN_T, src, i), 0.0)
ACC add(ACC a, ACC b) {
  // Knuth's two-sum of the high parts, then the low parts, renormalised. `precise` keeps
  // the compiler from reassociating or fusing the error terms away.
  precise float s = a.x + b.x;
  if (isinf(s) || isnan(s)) return vec2(s, 0.0);  // the error terms would be NaN
  precise float bb = s - a.x;
  precise float e = (a.x - (s - bb)) + (b.x - bb);
  precise float low = e + (a.y + b.y);
  precise float hi = s + low;
  precise float lo = low - (hi - s);
  return vec2(hi, lo);
}
void store(uint o, ACC v) {
  precise float r = v.x + v.y;
  STORE_F(OUT_T, dst, o, ROUND_F(OUT_T, r));
}
#elif ACC_KIND == 1
#define ACC int
#define ZERO 0
#define LOAD(i) LOAD_I(IN_T, src, i)
ACC add(ACC a, ACC b) { return a + b; }
void store(uint o, ACC v) { STORE_I(OUT_T, dst, o, v); }
#else
#define ACC uint
#define ZERO 0u
#define LOAD(i) uint(src[i])
ACC add(ACC a, ACC b) { return a + b; }
void store(uint o, ACC v) { dst[o] = v; }
#endif

shared ACC partial[2][256];  // WG_SIZE at most 256

void main() {
  uint n = P[STRIDED_END], in_stride = P[STRIDED_END + 1u], out_stride = P[STRIDED_END + 2u];
  bool reverse = P[STRIDED_END + 3u] != 0u, inclusive = P[STRIDED_END + 4u] != 0u;
  uint off[NUM_OPERANDS];
  if (PER_INVOCATION != 0u) {
    uint lane = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * WG_SIZE;
    if (lane >= P[0]) return;
    strided_offsets(lane, off);
    ACC acc = ZERO;
    for (uint s = 0u; s < n; ++s) {
      uint k = reverse ? n - 1u - s : s;
      ACC v = LOAD(off[0] + k * in_stride);
      if (inclusive) acc = add(acc, v);
      store(off[1] + k * out_stride, acc);
      if (!inclusive) acc = add(acc, v);
    }
    return;
  }
  uint lane = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  if (lane >= P[0]) return;  // the same for the whole workgroup
  strided_offsets(lane, off);
  uint tid = gl_LocalInvocationID.x;
  ACC carry = ZERO;
  for (uint start = 0u; start < n; start += WG_SIZE * PER_THREAD) {
    // This invocation's PER_THREAD consecutive elements (in scan order) and their sum.
    uint first = start + tid * PER_THREAD;
    ACC values[PER_THREAD];
    ACC sum = ZERO;
    for (uint e = 0u; e < PER_THREAD; ++e) {
      uint s = first + e;
      values[e] = ZERO;
      if (s < n) values[e] = LOAD(off[0] + (reverse ? n - 1u - s : s) * in_stride);
      sum = add(sum, values[e]);
    }
    // Inclusive scan of the sums over the workgroup (Hillis-Steele, double-buffered).
    uint current = 0u;
    partial[0][tid] = sum;
    barrier();
    for (uint d = 1u; d < WG_SIZE; d <<= 1) {
      ACC v = partial[current][tid];
      if (tid >= d) v = add(partial[current][tid - d], v);
      partial[1u - current][tid] = v;
      current = 1u - current;
      barrier();
    }
    ACC run = tid == 0u ? carry : add(carry, partial[current][tid - 1u]);
    for (uint e = 0u; e < PER_THREAD; ++e) {
      uint s = first + e;
      if (inclusive) run = add(run, values[e]);
      if (s < n) store(off[1] + (reverse ? n - 1u - s : s) * out_stride, run);
      if (!inclusive) run = add(run, values[e]);
    }
    carry = add(carry, partial[current][WG_SIZE - 1u]);
    barrier();  // the next chunk overwrites partial[0]
  }
}
