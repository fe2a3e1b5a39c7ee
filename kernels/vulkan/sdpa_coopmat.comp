// Tensor-core attention for many query rows (prefill; GL_NV_cooperative_matrix): float16
// q, k, v and out, float32 scores and sums, in the manner of flash attention. A
// workgroup takes ROWS query rows of one (batch, head), 16 per subgroup. Per block of BC
// keys it puts K and V into shared memory; each subgroup computes its 16 x BC scores
// S = q k^T on the tensor cores, then the online softmax in scalar code (two lanes a row:
// running max and sum, P = exp(S - max) rounded to float16, the sum taken over the
// rounded P), then P V on the tensor cores. The output rows stay in registers (half a
// row a lane), rescaled by each block's change of the running max. Head dims up to HEAD
// (zero padded in the tiles), any strides (16-byte loads where the head dim is the unit
// stride). Parameters, masks, causal and GQA as sdpa.comp.
// Variant defines: M_T (mask), HEAD (64: 4 subgroups and 64-key blocks; 128: 2 subgroups
// and 32-key blocks; both within 48 KiB of shared memory), FRAG_N (coopmat_types.glsl).
#version 450
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"
#include "coopmat_types.glsl"

#if HEAD == 64
#define WARPS 4
const uint BC = 64u;
#else
#define WARPS 2
const uint BC = 32u;
#endif
layout(local_size_x = WARPS * 32) in;
layout(std430, binding = 0) readonly buffer Params { uint P[]; };
layout(std430, binding = 1) readonly buffer Q { float16_t q[]; };
layout(std430, binding = 1) readonly buffer Q4 { uvec4 q4[]; };
layout(std430, binding = 2) readonly buffer K { float16_t k[]; };
layout(std430, binding = 2) readonly buffer K4 { uvec4 k4[]; };
layout(std430, binding = 3) readonly buffer V { float16_t v[]; };
layout(std430, binding = 3) readonly buffer V4 { uvec4 v4[]; };
layout(std430, binding = 4) readonly buffer Mask { STORAGE(M_T) mask[]; };
layout(std430, binding = 5) writeonly buffer Out { float16_t dst[]; };

const uint ROWS = WARPS * 16u;     // query rows per workgroup (<= BC: q passes through k_tile)
const uint CHUNKS = HEAD / 8u;     // uvec4 of data per tile row
const uint ROW4 = CHUNKS + 1u;     // uvec4 per K/V tile row, padded
const uint P_ROW4 = BC / 8u + 1u;  // uvec4 per row of P
const uint SW = BC > HEAD ? BC : HEAD;
const uint HALF_BC = BC / 2u, HALF_HEAD = HEAD / 2u;
const float NEG_INF = -1.0 / 0.0;

shared uvec4 k_tile[BC * ROW4];
shared uvec4 v_tile[BC * ROW4];
shared uvec4 p_tile[ROWS * P_ROW4];
shared float stage[WARPS * 16u * SW];  // a subgroup's S (16 x BC), then its P V (16 x HEAD)
shared float pair[WARPS * 32u];        // a lane's partial row max / sum for its partner

// 8 head-dim values from d0 of row l of (b, h) in q (which 0), k (1) or v (2), whose
// strides and offset are P[s ... s + 4]; zeros past dim.
uvec4 load8(uint which, uint s, uint b, uint h, uint l, uint d0, uint dim) {
  uint sd = P[s + 3u];
  uint base = P[s + 4u] + b * P[s] + h * P[s + 1u] + l * P[s + 2u] + d0 * sd;
  if (sd == 1u && base % 8u == 0u && d0 + 8u <= dim) {
    return which == 0u ? q4[base / 8u] : which == 1u ? k4[base / 8u] : v4[base / 8u];
  }
  float x[8];
  for (uint j = 0u; j < 8u; ++j) {
    uint i = base + j * sd;
    x[j] = d0 + j >= dim ? 0.0 : float(which == 0u ? q[i] : which == 1u ? k[i] : v[i]);
  }
  return pack8(x);
}

// The sum (or max) of x over this lane and its partner (the other half of the row).
float pair_combine(uint slot, float x, bool is_max) {
  pair[slot] = x;
  subgroupMemoryBarrierShared();
  subgroupBarrier();
  float y = pair[slot ^ 1u];
  subgroupBarrier();
  return is_max ? max(x, y) : x + y;
}

void main() {
  uint Hq = P[1], Hkv = P[2], Lq = P[3], Lk = P[4], D = P[5], Dv = P[6];
  float scale = uintBitsToFloat(P[7]);
  bool causal = P[8] != 0u;
  uint mask_kind = P[9];
  const uint QS = 10u, KS = 15u, VS = 20u, MS = 25u, OS = 30u;
  uint h = gl_WorkGroupID.y % Hq, b = gl_WorkGroupID.y / Hq, hk = h / (Hq / Hkv);
  uint q0 = gl_WorkGroupID.x * ROWS;
  uint tid = gl_LocalInvocationID.x, warp = gl_SubgroupID, lane = gl_SubgroupInvocationID;
  uint r = lane >> 1u, half_ = lane & 1u, row = q0 + warp * 16u + r;

  // This workgroup's q rows, through k_tile, into fragments held for the whole loop.
  for (uint c = tid; c < ROWS * CHUNKS; c += WARPS * 32u) {
    uint qr = q0 + c / CHUNKS;
    k_tile[(c / CHUNKS) * ROW4 + c % CHUNKS] = qr < Lq ? load8(0u, QS, b, h, qr, (c % CHUNKS) * 8u, D) : uvec4(0u);
  }
  barrier();
  FRAG_A qa[HEAD / 16u];
  for (uint kk = 0u; kk < HEAD / 16u; ++kk) coopMatLoadNV(qa[kk], k_tile, warp * 16u * ROW4 + kk * 2u, ROW4, false);

  // Causal: row i sees keys j <= Lk - Lq + i; the workgroup's last row bounds the blocks.
  int last_visible = int(Lk) - int(Lq) + int(row);
  uint kv_end = causal ? uint(clamp(int(Lk) - int(Lq) + int(q0 + ROWS), 0, int(Lk))) : Lk;
  float o[HALF_HEAD];
  for (uint c = 0u; c < HALF_HEAD; ++c) o[c] = 0.0;
  float m = NEG_INF, l = 0.0;
  uint sbase = warp * 16u * SW, slot = warp * 32u + lane;
  for (uint kb = 0u; kb < kv_end; kb += BC) {
    barrier();  // the previous block's tiles (and the q block) are read
    for (uint c = tid; c < BC * CHUNKS; c += WARPS * 32u) {
      uint j = c / CHUNKS, d0 = (c % CHUNKS) * 8u, t = j * ROW4 + c % CHUNKS;
      bool in_range = kb + j < Lk;
      k_tile[t] = in_range ? load8(1u, KS, b, hk, kb + j, d0, D) : uvec4(0u);
      v_tile[t] = in_range ? load8(2u, VS, b, hk, kb + j, d0, Dv) : uvec4(0u);
    }
    barrier();

    // S = q k^T: k_tile's key rows are the columns of a column-major k^T fragment.
    FRAG_C s[BC / FRAG_N];
    for (uint j = 0u; j < BC / FRAG_N; ++j) s[j] = FRAG_C(0.0);
    for (uint kk = 0u; kk < HEAD / 16u; ++kk) {
      for (uint j = 0u; j < BC / FRAG_N; ++j) {
        FRAG_B kt;
        coopMatLoadNV(kt, k_tile, j * FRAG_N * ROW4 + kk * 2u, ROW4, true);
        s[j] = coopMatMulAddNV(qa[kk], kt, s[j]);
      }
    }
    for (uint j = 0u; j < BC / FRAG_N; ++j) coopMatStoreNV(s[j], stage, sbase + j * FRAG_N, BC, false);
    subgroupMemoryBarrierShared();
    subgroupBarrier();

    // Online softmax over this lane's half of its row.
    float x[HALF_BC];
    float block_max = NEG_INF;
    for (uint c = 0u; c < HALF_BC; ++c) {
      uint key = kb + half_ * HALF_BC + c;
      float e = stage[sbase + r * BC + half_ * HALF_BC + c] * scale;
      if (key >= Lk || (causal && int(key) > last_visible)) {
        e = NEG_INF;
      } else if (mask_kind != 0u && row < Lq) {
        uint mi = P[MS + 4u] + b * P[MS] + h * P[MS + 1u] + row * P[MS + 2u] + key * P[MS + 3u];
        if (mask_kind == 1u) {
          if (LOAD_I(M_T, mask, mi) == 0) e = NEG_INF;
        } else {
          e += LOAD_F(M_T, mask, mi);
        }
      }
      x[c] = e;
      block_max = max(block_max, e);
    }
    float new_m = max(m, pair_combine(slot, block_max, true));
    float sum = 0.0;
    uint prow = (warp * 16u + r) * P_ROW4;
    for (uint c = 0u; c < HALF_BC; c += 2u) {
      vec2 p = new_m == NEG_INF ? vec2(0.0) : exp(vec2(x[c], x[c + 1u]) - new_m);
      uint packed = packHalf2x16(p), col = half_ * HALF_BC + c;
      p = unpackHalf2x16(packed);
      sum += p.x + p.y;
      p_tile[prow + col / 8u][(col / 2u) % 4u] = packed;
    }
    float alpha = m == NEG_INF ? 0.0 : exp(m - new_m);
    l = l * alpha + pair_combine(slot, sum, false);
    m = new_m;
    subgroupMemoryBarrierShared();
    subgroupBarrier();

    // P V: v_tile's key rows are the rows of a row-major fragment.
    FRAG_C pv[HEAD / FRAG_N];
    for (uint j = 0u; j < HEAD / FRAG_N; ++j) pv[j] = FRAG_C(0.0);
    for (uint kk = 0u; kk < BC / 16u; ++kk) {
      FRAG_A pa;
      coopMatLoadNV(pa, p_tile, warp * 16u * P_ROW4 + kk * 2u, P_ROW4, false);
      for (uint j = 0u; j < HEAD / FRAG_N; ++j) {
        FRAG_B vb;
        coopMatLoadNV(vb, v_tile, kk * 16u * ROW4 + j * FRAG_N / 8u, ROW4, false);
        pv[j] = coopMatMulAddNV(pa, vb, pv[j]);
      }
    }
    for (uint j = 0u; j < HEAD / FRAG_N; ++j) coopMatStoreNV(pv[j], stage, sbase + j * FRAG_N, HEAD, false);
    subgroupMemoryBarrierShared();
    subgroupBarrier();
    for (uint c = 0u; c < HALF_HEAD; ++c) o[c] = o[c] * alpha + stage[sbase + r * HEAD + half_ * HALF_HEAD + c];
  }

  if (row >= Lq) return;
  float inv = l > 0.0 ? 1.0 / l : 0.0;
  uint out_row = P[OS + 4u] + b * P[OS] + h * P[OS + 1u] + row * P[OS + 2u];
  for (uint c = 0u; c < HALF_HEAD; ++c) {
    uint d = half_ * HALF_HEAD + c;
    if (d < Dv) dst[out_row + d * P[OS + 3u]] = float16_t(o[c] * inv);
  }
}
