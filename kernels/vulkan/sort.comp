// Sort and ArgSort (ArgPartition too: a full sort is one valid partition) along rows, by
// bitonic sorting of (key, position) pairs. Keys are uint32 whose order is the CPU's
// sort_less order: numbers ascending, -0 equal to +0, every NaN after +inf and equal to
// the others. Positions break ties, so the order is total and the result is the stable
// one, whatever the network does. Keys come from the raw bits (integer work only, so no
// denormal flushing can merge values).
// Each row (a "lane") is padded to `width`, a power of two, with (~0, ~0) pairs that sort
// last; lanes lie side by side in a scratch buffer of lanes * width pairs. Workgroups own
// tiles of TILE pairs in shared memory; merges of blocks larger than a tile take global
// passes, one per step.
// Specialisation constants: 0 workgroup size, 1 MODE:
//   0 sort each tile's blocks up to min(width, TILE) (the first dispatch);
//   1 one global compare-exchange step (k, j) with j >= TILE, one invocation per pair;
//   2 finish merge step k inside tiles (j = TILE / 2 down to 1).
// Parameters: strided.glsl's block over the lanes (operand 0 the input, 1 the output),
// then n (row length), width, input axis stride, output axis stride, k, j, load (1: the
// tiles read keys from the input, not the scratch), store (1: they write the output).
// Variant defines: T (input dtype), KIND (how keys are made: 0 float32, 1 float16,
// 2 bfloat16, 3 int32, 4 unsigned), ARG (1: the output is uint32 positions; 0: the values).
#version 450
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"
#define NUM_OPERANDS 2u
#include "strided.glsl"

#include "workgroup.glsl"
layout(constant_id = 1) const uint MODE = 0u;

// The input's bits.
#define RAW_f32 uint
#define RAW_f16 uint16_t
#define RAW_bf16 uint16_t
#define RAW_i32 uint
#define RAW_u32 uint
#define RAW_bool uint8_t
#define RAW CAT(RAW_, T)

layout(std430, binding = 1) readonly buffer In { RAW src[]; };
layout(std430, binding = 2) buffer Scratch { uvec2 pairs[]; };
#if ARG
layout(std430, binding = 3) writeonly buffer Out { uint dst[]; };
#else
layout(std430, binding = 3) writeonly buffer Out { RAW dst[]; };
#endif

const uint TILE = 2048u;
const uvec2 PAD = uvec2(0xffffffffu, 0xffffffffu);
shared uvec2 tile[TILE];

// Order-preserving key of a raw element.
uint sort_key(uint bits) {
#if KIND == 0 || KIND == 1 || KIND == 2
#if KIND == 0
  const uint SIGN = 0x80000000u, MAGNITUDE = 0x7fffffffu, INF = 0x7f800000u;
#elif KIND == 1
  const uint SIGN = 0x8000u, MAGNITUDE = 0x7fffu, INF = 0x7c00u;
#else
  const uint SIGN = 0x8000u, MAGNITUDE = 0x7fffu, INF = 0x7f80u;
#endif
  uint magnitude = bits & MAGNITUDE;
  if (magnitude > INF) return 0xffffffffu;  // NaN
  if (magnitude == 0u) return SIGN;         // -0 and +0
  return (bits & SIGN) != 0u ? SIGN - magnitude : SIGN + magnitude;
#elif KIND == 3
  return bits ^ 0x80000000u;
#else
  return bits;
#endif
}

// (a, b) out of order for an ascending block?
bool greater_pair(uvec2 a, uvec2 b) { return a.x > b.x || (a.x == b.x && a.y > b.y); }

uint lanes() { return P[0]; }
uint row_length() { return P[STRIDED_END]; }
uint width() { return P[STRIDED_END + 1u]; }

uvec2 load_slot(uint s) {
  uint lane = s / width(), position = s % width();
  if (lane >= lanes()) return PAD;
  if (P[STRIDED_END + 6u] == 0u) return pairs[s];
  if (position >= row_length()) return PAD;
  uint off[NUM_OPERANDS];
  strided_offsets(lane, off);
  return uvec2(sort_key(uint(src[off[0] + position * P[STRIDED_END + 2u]])), position);
}

void store_slot(uint s, uvec2 v) {
  uint lane = s / width(), position = s % width();
  if (lane >= lanes()) return;
  if (P[STRIDED_END + 7u] == 0u) {
    pairs[s] = v;
    return;
  }
  if (position >= row_length()) return;
  uint off[NUM_OPERANDS];
  strided_offsets(lane, off);
  uint o = off[1] + position * P[STRIDED_END + 3u];
#if ARG
  dst[o] = v.y;
#else
  dst[o] = src[off[0] + v.y * P[STRIDED_END + 2u]];
#endif
}

// True when the merge blocks of size k holding global slot `global_lo` sort ascending:
// those whose position within the row has bit k clear.
bool ascending(uint global_lo, uint k) { return ((global_lo % width()) & k) == 0u; }

// One compare-exchange step (k, j) over the tile starting at global slot `base`.
void tile_step(uint base, uint k, uint j) {
  for (uint q = gl_LocalInvocationID.x; q < TILE / 2u; q += WG_SIZE) {
    uint lo = ((q & ~(j - 1u)) << 1) | (q & (j - 1u));
    uint hi = lo | j;
    uvec2 a = tile[lo], b = tile[hi];
    if (greater_pair(a, b) == ascending(base + lo, k)) {
      tile[lo] = b;
      tile[hi] = a;
    }
  }
}

void main() {
  uint group = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  if (MODE == 1u) {
    uint q = group * WG_SIZE + gl_LocalInvocationID.x;
    uint k = P[STRIDED_END + 4u], j = P[STRIDED_END + 5u];
    if (q >= lanes() * width() / 2u) return;
    uint lo = ((q & ~(j - 1u)) << 1) | (q & (j - 1u));
    uint hi = lo | j;
    uvec2 a = pairs[lo], b = pairs[hi];
    if (greater_pair(a, b) == ascending(lo, k)) {
      pairs[lo] = b;
      pairs[hi] = a;
    }
    return;
  }
  uint base = group * TILE;
  for (uint t = gl_LocalInvocationID.x; t < TILE; t += WG_SIZE) tile[t] = load_slot(base + t);
  barrier();
  if (MODE == 0u) {
    uint top = min(width(), TILE);
    for (uint k = 2u; k <= top; k <<= 1) {
      for (uint j = k >> 1; j > 0u; j >>= 1) {
        tile_step(base, k, j);
        barrier();
      }
    }
  } else {
    uint k = P[STRIDED_END + 4u];
    for (uint j = TILE >> 1; j > 0u; j >>= 1) {
      tile_step(base, k, j);
      barrier();
    }
  }
  for (uint t = gl_LocalInvocationID.x; t < TILE; t += WG_SIZE) store_slot(base + t, tile[t]);
}
