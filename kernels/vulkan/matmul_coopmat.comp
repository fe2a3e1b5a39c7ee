// Tensor-core matmul (GL_NV_cooperative_matrix): out[b, m, n] = sum_k a[b, m, k] * b[b, k, n]
// for float16 a and b, float32 accumulation. Parameters and batch addressing as
// matmul.comp (strided.glsl; at STRIDED_END: M, N, K, a_stride_m, a_stride_k, b_stride_k,
// b_stride_n). Tiles as coopmat.glsl: each BK slice of a (BM x BK) and of b goes to shared
// memory as float16 in chunks of 8 consecutive values; the next slice is loaded into
// registers while the tensor cores work on this one. Outside M, N, K the tiles hold zeros.
// Specialisation constants:
//   1 A_VEC: a has unit k stride and its rows start on 16 bytes (8 halves, one load);
//   2 B_ROWS_OF_K: b's chunks run along n (its n stride is 1: a row-major weight), the
//     tile holding BK rows of n; else along k (BN rows of k: a transposed weight);
//   3 B_VEC: those chunks are 16-byte aligned loads;
//   4 ADDEND (addend.glsl: c at binding 4, its offset the parameter after b_stride_n,
//     added as each fragment is stored).
// Without the VEC flags chunks are read element by element (any strides, neighbouring
// invocations on neighbouring chunks where the unit stride allows).
// Variant defines: TILE, FRAG_N (coopmat.glsl); a, b and out are float16.
#version 450
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"
#define NUM_OPERANDS 3u
#include "strided.glsl"
#include "coopmat.glsl"

layout(local_size_x = WG_SIZE) in;
layout(std430, binding = 1) readonly buffer A { float16_t a[]; };
layout(std430, binding = 1) readonly buffer A4 { uvec4 a4[]; };
layout(std430, binding = 2) readonly buffer B { float16_t b[]; };
layout(std430, binding = 2) readonly buffer B4 { uvec4 b4[]; };
layout(std430, binding = 3) writeonly buffer Out { float16_t dst[]; };
#define ADDEND_T f16
#define ADDEND_BINDING 4
#define ADDEND_ID 4
#define ADDEND_PARAM (STRIDED_END + 7u)
#include "addend.glsl"

layout(constant_id = 1) const uint A_VEC = 0u;
layout(constant_id = 2) const uint B_ROWS_OF_K = 0u;
layout(constant_id = 3) const uint B_VEC = 0u;

// Chunks per tile: BM * BK / 8 of a, as many of b (BM == BN), WG at a time.
const uint CHUNKS = BM * BK / 8u / WG;
const uint K_CHUNKS = BK / 8u, N_CHUNKS = BN / 8u;

uint M, N, K, a_sm, a_sk, b_sk, b_sn;
uint off[NUM_OPERANDS];

// 8 values from element `base`, `step` apart, the first `count` of them (else zeros).
uvec4 load8(bool from_b, uint base, uint step, uint count) {
  float v[8];
  for (uint j = 0u; j < 8u; ++j) {
    uint i = base + j * step;
    v[j] = j < count ? float(from_b ? b[i] : a[i]) : 0.0;
  }
  return pack8(v);
}

// Chunk c of a's slice at k0: tile row c / K_CHUNKS, k values (c % K_CHUNKS) * 8 ...
uvec4 load_a(uint k0, uint c) {
  uint gm = gl_WorkGroupID.y * BM + c / K_CHUNKS, k = k0 + (c % K_CHUNKS) * 8u;
  if (gm >= M || k >= K) return uvec4(0u);
  uint base = off[0] + gm * a_sm + k * a_sk;
  return A_VEC != 0u ? a4[base / 8u] : load8(false, base, a_sk, K - k);
}

// Chunk c of b's slice at k0: with B_ROWS_OF_K, tile row (k) c / N_CHUNKS and n values
// (c % N_CHUNKS) * 8 ...; else tile row (n) c / K_CHUNKS and k values (c % K_CHUNKS) * 8 ...
uvec4 load_b(uint k0, uint c) {
  uint n0 = gl_WorkGroupID.x * BN;
  uint gn = B_ROWS_OF_K != 0u ? n0 + (c % N_CHUNKS) * 8u : n0 + c / K_CHUNKS;
  uint k = B_ROWS_OF_K != 0u ? k0 + c / N_CHUNKS : k0 + (c % K_CHUNKS) * 8u;
  if (gn >= N || k >= K) return uvec4(0u);
  uint base = off[1] + k * b_sk + gn * b_sn;
  if (B_VEC != 0u) return b4[base / 8u];
  return B_ROWS_OF_K != 0u ? load8(true, base, b_sn, N - gn) : load8(true, base, b_sk, K - k);
}

// The chunk an invocation takes in round r. Chunks are numbered along the tile's rows, so
// consecutive invocations read consecutive memory when the chunks run along a unit stride;
// for a strided a or b (k not the unit stride) they walk the rows instead.
uint chunk_a(uint r) {
  uint i = gl_LocalInvocationID.x + r * WG;
  return A_VEC != 0u || a_sk == 1u ? i : (i % BM) * K_CHUNKS + i / BM;
}
uint chunk_b(uint r) {
  uint i = gl_LocalInvocationID.x + r * WG;
  return B_ROWS_OF_K != 0u || B_VEC != 0u || b_sk == 1u ? i : (i % BN) * K_CHUNKS + i / BN;
}

// Where chunk c of b sits in tile_b.
uint tile_b_index(uint c) {
  return B_ROWS_OF_K != 0u ? (c / N_CHUNKS) * ROW_STRIDE_N + c % N_CHUNKS : (c / K_CHUNKS) * ROW_STRIDE + c % K_CHUNKS;
}

void main() {
  uint e = STRIDED_END;
  M = P[e]; N = P[e + 1u]; K = P[e + 2u];
  a_sm = P[e + 3u]; a_sk = P[e + 4u]; b_sk = P[e + 5u]; b_sn = P[e + 6u];
  strided_offsets(gl_WorkGroupID.z, off);
  uint warp = gl_SubgroupID, warp_m = warp / WARPS_N, warp_n = warp % WARPS_N;

  FRAG_C acc[FM][FN];
  for (uint i = 0u; i < FM; ++i)
    for (uint j = 0u; j < FN; ++j) acc[i][j] = FRAG_C(0.0);

  uvec4 next_a[CHUNKS], next_b[CHUNKS];
  for (uint r = 0u; r < CHUNKS; ++r) {
    next_a[r] = load_a(0u, chunk_a(r));
    next_b[r] = load_b(0u, chunk_b(r));
  }
  for (uint k0 = 0u; k0 < K; k0 += BK) {
    barrier();  // the previous slice's fragments are loaded
    for (uint r = 0u; r < CHUNKS; ++r) {
      uint ca = chunk_a(r);
      tile_a[(ca / K_CHUNKS) * ROW_STRIDE + ca % K_CHUNKS] = next_a[r];
      tile_b[tile_b_index(chunk_b(r))] = next_b[r];
    }
    barrier();
    if (k0 + BK < K) {
      for (uint r = 0u; r < CHUNKS; ++r) {
        next_a[r] = load_a(k0 + BK, chunk_a(r));
        next_b[r] = load_b(k0 + BK, chunk_b(r));
      }
    }
    multiply_tiles(acc, warp_m, warp_n, B_ROWS_OF_K != 0u);
  }

  // Each fragment through shared memory, so that edge tiles store only inside M x N.
  uint lane = gl_SubgroupInvocationID;
  for (uint i = 0u; i < FM; ++i) {
    for (uint j = 0u; j < FN; ++j) {
      stage_fragment(acc[i][j]);
      uint m0 = gl_WorkGroupID.y * BM + warp_m * WTM + i * 16u;
      uint n0 = gl_WorkGroupID.x * BN + warp_n * WTN + j * FRAG_N;
      for (uint t = lane; t < 16u * FRAG_N; t += 32u) {
        uint gm = m0 + t / FRAG_N, gn = n0 + t % FRAG_N;
        uint o = off[2] + gm * N + gn;
        if (gm < M && gn < N) dst[o] = float16_t(plus_addend(stage[warp * 16u * FRAG_N + t], o));
      }
      stage_done();
    }
  }
}
