// Gather (take along an axis): out[o, j, i] = a[o, indices[j], i] for a viewed as
// [outer, axis, inner] and out as [outer, count, inner] (row-major). Indices are
// row-major, negative ones wrap. Parameters: total, outer, axis size, count (index
// elements), inner, a offset, a outer stride, a axis stride, a inner stride, index offset.
// Variant defines: T (a, out), I_T (indices).
#version 450
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"

#include "workgroup.glsl"
layout(std430, binding = 0) readonly buffer Params { uint P[]; };
layout(std430, binding = 1) readonly buffer A { STORAGE(T) a[]; };
layout(std430, binding = 2) readonly buffer I { STORAGE(I_T) indices[]; };
layout(std430, binding = 3) writeonly buffer Out { STORAGE(T) dst[]; };

void main() {
  uint id = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * WG_SIZE;
  if (id >= P[0]) return;
  uint axis = P[2], count = P[3], inner = P[4];
  uint i = id % inner, j = (id / inner) % count, o = id / (inner * count);
  int index = LOAD_I(I_T, indices, P[9] + j);
  if (index < 0) index += int(axis);
  index = clamp(index, 0, int(axis) - 1);  // out-of-range indices read the nearest row, never past a
  uint src = P[5] + o * P[6] + uint(index) * P[7] + i * P[8];
  dst[id] = a[src];
}
