// Tensor-core quantized matmul for many input rows (prefill, GL_NV_cooperative_matrix):
// out[m, n] = sum_k x[m, k] * W[n, k], W [N, K] affine-quantized along k (quantized.glsl),
// float32 accumulation. Tiles as coopmat.glsl: per 32-deep slice (one pack of every W
// row), x's BM x 32 block goes to shared memory as float16 and W's BN rows are
// dequantized (scale * code + bias in float32, then float16); the next slice's x chunks,
// packed words, scale and bias are loaded into registers while the tensor cores work.
// Parameters as quantized_matmul.comp (x's rows through strided.glsl over its leading
// dims; out row-major [M, N]).
// Specialisation constants 1, 2: BITS, GROUP_SIZE; 3, X_VEC: x has unit k stride and
// every row starts on 16 bytes (8 halves are one load; x must then be float16); 4: ADDEND
// (addend.glsl: c of dtype OUT_T at binding 6, added as each fragment is stored).
// Variant defines: X_T, S_T, OUT_T, TILE, FRAG_N.
#version 450
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"
#define NUM_OPERANDS 1u
#include "strided.glsl"
#include "quantized.glsl"
#include "coopmat.glsl"

layout(local_size_x = WG_SIZE) in;
layout(std430, binding = 1) readonly buffer X { STORAGE(X_T) x[]; };
layout(std430, binding = 1) readonly buffer X4 { uvec4 x4[]; };
layout(std430, binding = 2) readonly buffer W { uint wq[]; };
layout(std430, binding = 3) readonly buffer S { STORAGE(S_T) scales[]; };
layout(std430, binding = 4) readonly buffer B { STORAGE(S_T) biases[]; };
layout(std430, binding = 5) writeonly buffer Out { STORAGE(OUT_T) dst[]; };
#define ADDEND_T OUT_T
#define ADDEND_BINDING 6
#define ADDEND_ID 4
#define ADDEND_PARAM (STRIDED_END + 10u)
#include "addend.glsl"

layout(constant_id = 3) const uint X_VEC = 0u;

// x: BM * BK / 8 chunks of 8 k values per slice, X_CHUNKS per invocation (chunk-major:
// neighbouring invocations read neighbouring memory). W: BN rows x 2 halves of 16 codes,
// one half per invocation.
const uint X_CHUNKS = BM * BK / 8u / WG;
shared uint x_row[BM];  // element offset of each tile row of x

uint M, N, K, xs, row_words;

uvec4 load_x_chunk(uint k0, uint c) {
  uint row = c / (BK / 8u), k = k0 + (c % (BK / 8u)) * 8u;
  if (gl_WorkGroupID.y * BM + row >= M) return uvec4(0u);  // K is a multiple of 32
  uint base = x_row[row] + k * xs;
  if (X_VEC != 0u) return x4[base / 8u];
  float v[8];
  for (uint j = 0u; j < 8u; ++j) v[j] = LOAD_F(X_T, x, base + j * xs);
  return pack8(v);
}

// The slice's raw W data for this invocation's row: its pack, scale and bias.
struct WSlice {
  uint words[8];
  float scale, bias;
};

WSlice load_w(uint k0, uint row, uint w_off, uint s_off, uint b_off, uint s_row, uint s_group,
              uint b_row, uint b_group) {
  WSlice s;
  for (uint i = 0u; i < 8u; ++i) s.words[i] = 0u;
  s.scale = 0.0;
  s.bias = 0.0;
  if (row < N) {
    uint base = w_off + row * row_words + k0 / 32u * BITS;
    for (uint i = 0u; i < BITS; ++i) s.words[i] = wq[base + i];
    uint g = k0 / GROUP_SIZE;
    s.scale = LOAD_F(S_T, scales, s_off + row * s_row + g * s_group);
    s.bias = LOAD_F(S_T, biases, b_off + row * b_row + g * b_group);
  }
  return s;
}

void main() {
  uint e = STRIDED_END;
  M = P[0]; N = P[e]; K = P[e + 1u]; xs = P[e + 2u];
  uint w_off = P[e + 3u], s_off = P[e + 4u], b_off = P[e + 5u];
  uint s_row = P[e + 6u], s_group = P[e + 7u], b_row = P[e + 8u], b_group = P[e + 9u];
  row_words = K / 32u * BITS;
  uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
  uint tid = gl_LocalInvocationID.x;
  for (uint r = tid; r < BM; r += WG) {
    if (m0 + r < M) {
      uint off[NUM_OPERANDS];
      strided_offsets(m0 + r, off);
      x_row[r] = off[0];
    }
  }
  uint warp = gl_SubgroupID, warp_m = warp / WARPS_N, warp_n = warp % WARPS_N;
  // This invocation's W row and half pack (codes half * 16 ...), for every slice.
  // (BN * 2 == WG in both tile shapes.)
  uint w_row = tid / 2u, half_pack = tid % 2u;

  FRAG_C acc[FM][FN];
  for (uint i = 0u; i < FM; ++i)
    for (uint j = 0u; j < FN; ++j) acc[i][j] = FRAG_C(0.0);
  barrier();  // x_row

  uvec4 next_x[X_CHUNKS];
  for (uint r = 0u; r < X_CHUNKS; ++r) next_x[r] = load_x_chunk(0u, tid + r * WG);
  WSlice next_w = load_w(0u, n0 + w_row, w_off, s_off, b_off, s_row, s_group, b_row, b_group);
  for (uint k0 = 0u; k0 < K; k0 += BK) {
    barrier();  // the previous slice's fragments are loaded
    for (uint r = 0u; r < X_CHUNKS; ++r) {
      uint c = tid + r * WG;
      tile_a[(c / (BK / 8u)) * ROW_STRIDE + c % (BK / 8u)] = next_x[r];
    }
    for (uint h = 0u; h < 2u; ++h) {
      float v[8];
      for (uint j = 0u; j < 8u; ++j) {
        v[j] = next_w.scale * float(pack_code(next_w.words, half_pack * 16u + h * 8u + j)) + next_w.bias;
      }
      tile_b[w_row * ROW_STRIDE + half_pack * 2u + h] = pack8(v);
    }
    barrier();
    if (k0 + BK < K) {
      for (uint r = 0u; r < X_CHUNKS; ++r) next_x[r] = load_x_chunk(k0 + BK, tid + r * WG);
      next_w = load_w(k0 + BK, n0 + w_row, w_off, s_off, b_off, s_row, s_group, b_row, b_group);
    }
    multiply_tiles(acc, warp_m, warp_n, false);
  }

  uint lane = gl_SubgroupInvocationID;
  for (uint i = 0u; i < FM; ++i) {
    for (uint j = 0u; j < FN; ++j) {
      stage_fragment(acc[i][j]);
      uint fm = m0 + warp_m * WTM + i * 16u, fn = n0 + warp_n * WTN + j * FRAG_N;
      for (uint t = lane; t < 16u * FRAG_N; t += 32u) {
        uint gm = fm + t / FRAG_N, gn = fn + t % FRAG_N;
        if (gm < M && gn < N) STORE_F(OUT_T, dst, gm * N + gn, plus_addend(stage[warp * 16u * FRAG_N + t], gm * N + gn));
      }
      stage_done();
    }
  }
}
