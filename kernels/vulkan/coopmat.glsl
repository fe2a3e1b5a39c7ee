// Shared by the cooperative-matrix matmuls (GL_NV_cooperative_matrix, tensor cores):
// the tile geometry, the float16 tiles in shared memory and the float32 accumulators.
// A workgroup computes a BM x BN output tile from BM x BK and BN x BK float16 tiles in
// shared memory (both k-contiguous: 8 halves per uvec4, rows ROW_STRIDE uvec4 apart, the
// padding spreads rows over banks). Its WARPS_M x WARPS_N subgroups (of 32: the host
// checks) each own a WTM x WTN block of FM x FN fragments of 16 x FRAG_N.
// Defines: TILE (128: 8 subgroups of 64 x 32; 64: 4 subgroups of 32 x 32) and FRAG_N
// (coopmat_types.glsl).
#include "coopmat_types.glsl"

#if TILE == 128
const uint WARPS_M = 2u, WARPS_N = 4u, WTM = 64u, WTN = 32u;
#define WG_SIZE 256
#else
const uint WARPS_M = 2u, WARPS_N = 2u, WTM = 32u, WTN = 32u;
#define WG_SIZE 128
#endif
const uint BM = WARPS_M * WTM, BN = WARPS_N * WTN, BK = 32u;
const uint FM = WTM / 16u, FN = WTN / FRAG_N;
const uint WG = WG_SIZE;
const uint ROW_STRIDE = BK / 8u + 1u;  // uvec4 per tile row (4 of data, 1 of padding)

shared uvec4 tile_a[BM * ROW_STRIDE];
shared uvec4 tile_b[BN * ROW_STRIDE];  // also fits BK rows of BN / 8 + 1
// One 16 x FRAG_N float32 fragment per subgroup, on its way to global memory.
shared float stage[(WG_SIZE / 32) * 16 * FRAG_N];

// uvec4 per row of a b tile held as BK rows of n (b_rows_of_k below).
const uint ROW_STRIDE_N = BN / 8u + 1u;

// acc += the BK-deep product of the tiles in shared memory, for this subgroup's block.
// tile_b holds rows of n (BN x BK), or rows of k (BK x BN, ROW_STRIDE_N apart) when
// b_rows_of_k.
void multiply_tiles(inout FRAG_C acc[FM][FN], uint warp_m, uint warp_n, bool b_rows_of_k) {
  for (uint kk = 0u; kk < BK; kk += 16u) {
    FRAG_A fa[FM];
    FRAG_B fb[FN];
    for (uint i = 0u; i < FM; ++i) {
      coopMatLoadNV(fa[i], tile_a, (warp_m * WTM + i * 16u) * ROW_STRIDE + kk / 8u, ROW_STRIDE, false);
    }
    // In rows of n a k x n fragment is column-major.
    for (uint j = 0u; j < FN; ++j) {
      uint n = warp_n * WTN + j * FRAG_N;
      if (b_rows_of_k) {
        coopMatLoadNV(fb[j], tile_b, kk * ROW_STRIDE_N + n / 8u, ROW_STRIDE_N, false);
      } else {
        coopMatLoadNV(fb[j], tile_b, n * ROW_STRIDE + kk / 8u, ROW_STRIDE, true);
      }
    }
    for (uint i = 0u; i < FM; ++i)
      for (uint j = 0u; j < FN; ++j) acc[i][j] = coopMatMulAddNV(fa[i], fb[j], acc[i][j]);
  }
}

// Puts fragment f into this subgroup's part of `stage` (row-major, FRAG_N wide), visible
// to the whole subgroup on return. Call stage_done() before the next one.
void stage_fragment(FRAG_C f) {
  coopMatStoreNV(f, stage, gl_SubgroupID * 16u * FRAG_N, FRAG_N, false);
  subgroupMemoryBarrierShared();
  subgroupBarrier();
}
void stage_done() { subgroupBarrier(); }
