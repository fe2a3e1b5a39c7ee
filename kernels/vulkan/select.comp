// Select (where): out = cond ? a : b, all strided. Variant define: T (a, b and out dtype).
#version 450
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"
#define NUM_OPERANDS 4u
#include "strided.glsl"

#include "workgroup.glsl"
layout(std430, binding = 1) readonly buffer C { uint8_t cond[]; };
layout(std430, binding = 2) readonly buffer A { STORAGE(T) a[]; };
layout(std430, binding = 3) readonly buffer B { STORAGE(T) b[]; };
layout(std430, binding = 4) writeonly buffer Out { STORAGE(T) dst[]; };

void main() {
  uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * WG_SIZE;
  if (i >= P[0]) return;
  uint off[NUM_OPERANDS];
  strided_offsets(i, off);
  dst[off[3]] = uint(cond[off[0]]) != 0u ? a[off[1]] : b[off[2]];
}
