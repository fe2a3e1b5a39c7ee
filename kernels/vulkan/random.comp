// RandomBits and RandomUnit: word w of a key's Threefry-2x32 stream (20 rounds), as
// kernels/cpu/threefry.h computes it, in the same integer arithmetic. One invocation per
// block b: stream words 2b and 2b + 1 (counter (b, 0): counts stay below 2^32).
// Parameters: word count, key element offset, key stride (elements).
// Variant defines: UNIT (0: the uint32 words; 1: float32 in [0, 1) from their top 24 bits).
#version 450
#extension GL_GOOGLE_include_directive : require

#include "workgroup.glsl"
layout(std430, binding = 0) readonly buffer Params { uint P[]; };
layout(std430, binding = 1) readonly buffer Key { uint key[]; };
#if UNIT
layout(std430, binding = 2) writeonly buffer Out { float dst[]; };
#else
layout(std430, binding = 2) writeonly buffer Out { uint dst[]; };
#endif

const uint PARITY = 0x1BD11BDAu;
const uint ROTATIONS[8] = uint[8](13u, 15u, 26u, 6u, 17u, 29u, 16u, 24u);

uint rotate_left(uint x, uint r) { return (x << r) | (x >> (32u - r)); }

uvec2 threefry2x32(uint k0, uint k1, uint c0, uint c1) {
  uint schedule[3] = uint[3](k0, k1, k0 ^ k1 ^ PARITY);
  uint x0 = c0 + schedule[0];
  uint x1 = c1 + schedule[1];
  for (uint r = 0u; r < 20u; ++r) {
    x0 += x1;
    x1 = rotate_left(x1, ROTATIONS[r % 8u]);
    x1 ^= x0;
    if (r % 4u == 3u) {
      uint s = r / 4u + 1u;
      x0 += schedule[s % 3u];
      x1 += schedule[(s + 1u) % 3u] + s;
    }
  }
  return uvec2(x0, x1);
}

void put(uint w, uint word) {
#if UNIT
  dst[w] = float(word >> 8) * (1.0 / 16777216.0);  // exact: 24 bits times a power of two
#else
  dst[w] = word;
#endif
}

void main() {
  uint b = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * WG_SIZE;
  uint count = P[0];
  if (b >= (count + 1u) / 2u) return;
  uvec2 y = threefry2x32(key[P[1]], key[P[1] + P[2]], b, 0u);
  put(2u * b, y.x);
  if (2u * b + 1u < count) put(2u * b + 1u, y.y);
}
