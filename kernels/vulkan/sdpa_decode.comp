// Split-K scaled dot-product attention for a few query rows (decode): the keys of each
// (batch, query head, query row) are cut into `splits` ranges of whole TILE-key tiles, one
// workgroup each (grid: splits x rows), so a short query keeps the whole GPU busy. A
// workgroup runs an online softmax over its tiles and writes a partial (unnormalised
// output, max, sum) to `partials`; the last workgroup of a row to finish (an atomic count
// per row, reset by that workgroup for the next dispatch) merges them into the output.
// With one split it writes the output directly.
// Loads are issued in unrolled loops of fixed length (masked past D / Dv / the tile) so
// that each invocation has all of its K and V loads in flight at once: latency, not
// bandwidth, bounds a decode step. Their length follows HEAD_CAP (specialisation constant
// 1: 64, 128 or 256, at least D and Dv), so a head dim of 64 compiles to a quarter of the
// code and masked work of the 256 variant.
// Semantics as sdpa.comp: GQA, causal (query i sees keys j <= Lk - Lq + i), bool / float
// masks, strided q/k/v/mask/out. Parameters: sdpa.comp's 35 words, then splits and
// tiles per split, then with ROPE (specialisation constant 2) the folded query rope's
// (sdpa_rope.glsl; its freqs at binding 8). Variant defines: T (q, k, v, out), M_T (mask).
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "dtype.glsl"

layout(local_size_x = 128) in;
layout(std430, binding = 0) readonly buffer Params { uint P[]; };
layout(std430, binding = 1) readonly buffer Q { STORAGE(T) q[]; };
layout(std430, binding = 2) readonly buffer K { STORAGE(T) k[]; };
layout(std430, binding = 3) readonly buffer V { STORAGE(T) v[]; };
layout(std430, binding = 4) readonly buffer Mask { STORAGE(M_T) mask[]; };
layout(std430, binding = 5) writeonly buffer Out { STORAGE(T) dst[]; };
// Per (row, split): Dv unnormalised outputs, then the max and the sum of exponentials.
layout(std430, binding = 6) coherent buffer Partials { float partials[]; };
layout(std430, binding = 7) coherent buffer Counters { uint counters[]; };

layout(constant_id = 1) const uint HEAD_CAP = 256u;
#define ROPE_ID 2
#define ROPE_BINDING 8
#define ROPE_PARAM 37u
#include "sdpa_rope.glsl"

const uint LOCAL = 128u;
const uint TILE = 32u;                         // keys per tile
const uint MAX_D = 256u;                       // head dims (q/k and v) of this path
const uint KEY_PARTS = LOCAL / TILE;           // invocations per key's dot product
const uint KEY_LOADS = HEAD_CAP / KEY_PARTS;   // dims per invocation of a dot product
const uint COLS = 64u;                         // value columns per pass
const uint SLICES = LOCAL / COLS;              // key slices of the value product
const uint COL_REPS = HEAD_CAP / COLS;         // column passes per invocation
const uint SLICE_KEYS = TILE / SLICES;         // keys per slice of a tile
const uint MAX_SPLITS = 32u;                   // host's cap on splits per row
const float NEG_INF = -1.0 / 0.0;

shared float q_row[MAX_D];
shared float dot_parts[LOCAL];
shared float tile_scores[TILE];
shared float slice_acc[SLICES * MAX_D];
shared float split_weight[MAX_SPLITS];
shared float split_sum[MAX_SPLITS];
shared bool merges;

uint so(uint base, uint b, uint h, uint l, uint d) {  // strided offset
  return P[base + 4u] + b * P[base] + h * P[base + 1u] + l * P[base + 2u] + d * P[base + 3u];
}

void main() {
  uint Hq = P[1], Hkv = P[2], Lq = P[3], Lk = P[4], D = P[5], Dv = P[6];
  float scale = uintBitsToFloat(P[7]);
  bool causal = P[8] != 0u;
  uint mask_kind = P[9];
  const uint QS = 10u, KS = 15u, VS = 20u, MS = 25u, OS = 30u;
  uint splits = P[35], tiles_per_split = P[36];
  uint split = gl_WorkGroupID.x, row = gl_WorkGroupID.y;
  uint i = row % Lq, h = (row / Lq) % Hq, b = row / (Lq * Hq);
  uint hk = h / (Hq / Hkv);
  uint tid = gl_LocalInvocationID.x;
  uint limit = causal ? uint(clamp(int(Lk) - int(Lq) + int(i) + 1, 0, int(Lk))) : Lk;
  uint begin = min(limit, split * tiles_per_split * TILE);
  uint end = min(limit, begin + tiles_per_split * TILE);

  uint q_first = so(QS, b, h, i, 0u);
  for (uint d = tid; d < D; d += LOCAL) q_row[d] = load_q(q_first, P[QS + 3u], i, d) * scale;
  barrier();

  // Score phase: key tid / KEY_PARTS, dims tid % KEY_PARTS + KEY_PARTS * n.
  uint key_of = tid / KEY_PARTS, part = tid % KEY_PARTS;
  // Value phase: columns col + COLS * u, keys slice * SLICE_KEYS + r of the tile.
  uint col = tid % COLS, slice = tid / COLS;
  float m = NEG_INF, l = 0.0;
  float acc[COL_REPS];
  [[unroll]] for (uint u = 0u; u < COL_REPS; ++u) acc[u] = 0.0;
  for (uint t0 = begin; t0 < end; t0 += TILE) {
    uint count = min(TILE, end - t0);
    float s = 0.0;
    if (key_of < count) {
      [[unroll]] for (uint n = 0u; n < KEY_LOADS; ++n) {
        uint d = part + n * KEY_PARTS;
        if (d < D) s += q_row[d] * LOAD_F(T, k, so(KS, b, hk, t0 + key_of, d));
      }
    }
    float vals[COL_REPS * SLICE_KEYS];
    [[unroll]] for (uint r = 0u; r < SLICE_KEYS; ++r) {
      uint key = slice * SLICE_KEYS + r;
      [[unroll]] for (uint u = 0u; u < COL_REPS; ++u) {
        uint d = col + u * COLS;
        vals[u * SLICE_KEYS + r] = 0.0;
        if (key < count && d < Dv) vals[u * SLICE_KEYS + r] = LOAD_F(T, v, so(VS, b, hk, t0 + key, d));
      }
    }
    dot_parts[tid] = s;
    barrier();
    if (tid < TILE) {
      float score = NEG_INF;
      if (tid < count) {
        score = 0.0;
        [[unroll]] for (uint p = 0u; p < KEY_PARTS; ++p) score += dot_parts[tid * KEY_PARTS + p];
        uint key = t0 + tid;
        if (mask_kind == 1u) {
          if (LOAD_I(M_T, mask, so(MS, b, h, i, key)) == 0) score = NEG_INF;
        } else if (mask_kind == 2u) {
          score += LOAD_F(M_T, mask, so(MS, b, h, i, key));
        }
      }
      tile_scores[tid] = score;
    }
    barrier();
    // Every invocation reads the tile's scores (broadcast reads, no further barrier).
    float tile_max = NEG_INF;
    [[unroll]] for (uint j = 0u; j < TILE; ++j) tile_max = max(tile_max, tile_scores[j]);
    float new_m = max(m, tile_max);
    float tile_sum = 0.0;
    float a[COL_REPS];
    [[unroll]] for (uint u = 0u; u < COL_REPS; ++u) a[u] = 0.0;
    // (The slice's probabilities are recomputed rather than selected from the loop over
    // the tile: register arrays indexed by anything but an unrolled counter would spill.)
    [[unroll]] for (uint j = 0u; j < TILE; ++j) tile_sum += new_m == NEG_INF ? 0.0 : exp(tile_scores[j] - new_m);
    [[unroll]] for (uint r = 0u; r < SLICE_KEYS; ++r) {
      float p = new_m == NEG_INF ? 0.0 : exp(tile_scores[slice * SLICE_KEYS + r] - new_m);
      [[unroll]] for (uint u = 0u; u < COL_REPS; ++u) a[u] += p * vals[u * SLICE_KEYS + r];
    }
    float alpha = m == NEG_INF ? 0.0 : exp(m - new_m);
    l = l * alpha + tile_sum;
    [[unroll]] for (uint u = 0u; u < COL_REPS; ++u) acc[u] = acc[u] * alpha + a[u];
    m = new_m;
    barrier();  // dot_parts and tile_scores are rewritten by the next tile
  }
  [[unroll]] for (uint u = 0u; u < COL_REPS; ++u) slice_acc[slice * MAX_D + col + u * COLS] = acc[u];
  barrier();

  if (splits == 1u) {
    float inv = l > 0.0 ? 1.0 / l : 0.0;
    for (uint d = tid; d < Dv; d += LOCAL) {
      float o = 0.0;
      [[unroll]] for (uint s = 0u; s < SLICES; ++s) o += slice_acc[s * MAX_D + d];
      STORE_F(T, dst, so(OS, b, h, i, d), o * inv);
    }
    return;
  }

  uint stride = Dv + 2u;
  uint base = (row * splits + split) * stride;
  for (uint d = tid; d < Dv; d += LOCAL) {
    float o = 0.0;
    [[unroll]] for (uint s = 0u; s < SLICES; ++s) o += slice_acc[s * MAX_D + d];
    partials[base + d] = o;
  }
  if (tid == 0u) {
    partials[base + Dv] = m;
    partials[base + Dv + 1u] = l;
  }
  memoryBarrierBuffer();
  barrier();
  if (tid == 0u) merges = atomicAdd(counters[row], 1u) == splits - 1u;
  barrier();
  if (!merges) return;
  memoryBarrierBuffer();
  if (tid == 0u) counters[row] = 0u;  // ready for the next dispatch

  // The merge: weight_c = exp(m_c - M), out = sum_c weight_c o_c / sum_c weight_c l_c.
  uint row_base = row * splits * stride;
  if (tid < splits) {
    split_weight[tid] = partials[row_base + tid * stride + Dv];
    split_sum[tid] = partials[row_base + tid * stride + Dv + 1u];
  }
  barrier();
  float big_m = NEG_INF;
  for (uint c = 0u; c < splits; ++c) big_m = max(big_m, split_weight[c]);
  float total = 0.0;
  for (uint c = 0u; c < splits; ++c) {
    float mc = split_weight[c];
    total += (mc == NEG_INF ? 0.0 : exp(mc - big_m)) * split_sum[c];
  }
  float out_acc[COL_REPS];
  [[unroll]] for (uint u = 0u; u < COL_REPS; ++u) out_acc[u] = 0.0;
  [[unroll]] for (uint n = 0u; n < MAX_SPLITS / SLICES; ++n) {
    uint c = slice + n * SLICES;
    if (c < splits) {
      float mc = split_weight[c];
      float w = mc == NEG_INF ? 0.0 : exp(mc - big_m);
      [[unroll]] for (uint u = 0u; u < COL_REPS; ++u) {
        uint d = col + u * COLS;
        if (d < Dv) out_acc[u] += w * partials[row_base + c * stride + d];
      }
    }
  }
  [[unroll]] for (uint u = 0u; u < COL_REPS; ++u) slice_acc[slice * MAX_D + col + u * COLS] = out_acc[u];
  barrier();
  float inv = total > 0.0 ? 1.0 / total : 0.0;
  for (uint d = tid; d < Dv; d += LOCAL) {
    float o = 0.0;
    [[unroll]] for (uint s = 0u; s < SLICES; ++s) o += slice_acc[s * MAX_D + d];
    STORE_F(T, dst, so(OS, b, h, i, d), o * inv);
  }
}
