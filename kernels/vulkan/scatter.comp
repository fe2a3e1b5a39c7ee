// Scatter and ScatterAlongAxis: updates viewed as [outer, m, inner] (row-major) go into the
// output viewed as [outer, n, inner] (row-major, already holding a copy of a) at row
// indices[j] (Scatter) or indices[o, j, i] (along the axis, indices row-major like the
// updates). Per output column (o, i) the updates apply in j order, as on the CPU: the last
// duplicate wins, additions happen in the same order (half types rounded at every step).
// Negative indices wrap; out-of-range ones are skipped (the CPU throws).
// Specialisation constants: 0 workgroup size, 1 MODE:
//   0 one invocation per column applies its m updates in order (assign or add);
//   1 clear the winner buffer (one invocation per output element);
//   2 winner[target] = max(j + 1) over the updates that reach it (assign);
//   3 each update writes when it is its target's winner (assign).
// Parameters: outer, m, inner, n, indices per element (1) or per j (0), indices offset,
// updates offset, output size.
// Variant defines: T (the dtype; for assign, any of the same byte size), I_T (indices),
// ADD, IS_INT (additions in integer arithmetic).
#version 450
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"

#include "workgroup.glsl"
layout(constant_id = 1) const uint MODE = 0u;

layout(std430, binding = 0) readonly buffer Params { uint P[]; };
layout(std430, binding = 1) readonly buffer I { STORAGE(I_T) indices[]; };
layout(std430, binding = 2) readonly buffer U { STORAGE(T) updates[]; };
layout(std430, binding = 3) buffer Out { STORAGE(T) dst[]; };
layout(std430, binding = 4) buffer Winner { uint winner[]; };

// The output element updated by update (o, j, i), or ~0u when its index is out of range.
uint target(uint o, uint j, uint i) {
  uint m = P[1], inner = P[2], n = P[3];
  uint k = P[4] != 0u ? (o * m + j) * inner + i : j;
  int index = LOAD_I(I_T, indices, P[5] + k);
  if (index < 0) index += int(n);
  if (index < 0 || index >= int(n)) return ~0u;
  return (o * n + uint(index)) * inner + i;
}

void apply(uint t, uint u) {
#if ADD && IS_INT
  STORE_I(T, dst, t, LOAD_I(T, dst, t) + LOAD_I(T, updates, u));
#elif ADD
  STORE_F(T, dst, t, ROUND_F(T, LOAD_F(T, dst, t) + LOAD_F(T, updates, u)));
#else
  dst[t] = updates[u];
#endif
}

void main() {
  uint id = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * WG_SIZE;
  uint m = P[1], inner = P[2], base = P[6];
  if (MODE == 0u) {
    if (id >= P[0] * inner) return;
    uint o = id / inner, i = id % inner;
    for (uint j = 0u; j < m; ++j) {
      uint t = target(o, j, i);
      if (t != ~0u) apply(t, base + (o * m + j) * inner + i);
    }
  } else if (MODE == 1u) {
    if (id < P[7]) winner[id] = 0u;
  } else {
    if (id >= P[0] * m * inner) return;
    uint i = id % inner, j = (id / inner) % m, o = id / (inner * m);
    uint t = target(o, j, i);
    if (t == ~0u) return;
    if (MODE == 2u) {
      atomicMax(winner[t], j + 1u);
    } else if (winner[t] == j + 1u) {
      dst[t] = updates[base + id];
    }
  }
}
