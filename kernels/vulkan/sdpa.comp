// Scaled dot-product attention, one workgroup per (batch, query head, query row), keys in
// chunks of CHUNK with an online softmax (running max and sum), so any key length fits.
// GQA: query head h reads kv head h / (Hq / Hkv). Causal: query i sees keys
// j <= Lk - Lq + i. Mask (optional, [B, Hq, Lq, Lk] strided): bool keeps, float adds.
// Parameters: B, Hq, Hkv, Lq, Lk, D, Dv, scale bits, causal, mask kind (0 none, 1 bool,
// 2 float), then 4 strides + offset for each of q, k, v, mask, out (25 words), then with
// ROPE (specialisation constant 1) the folded query rope's (sdpa_rope.glsl; its freqs at
// binding 6). Variant defines: T (q, k, v, out), M_T (mask).
#version 450
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"

layout(local_size_x = 128) in;
layout(std430, binding = 0) readonly buffer Params { uint P[]; };
layout(std430, binding = 1) readonly buffer Q { STORAGE(T) q[]; };
layout(std430, binding = 2) readonly buffer K { STORAGE(T) k[]; };
layout(std430, binding = 3) readonly buffer V { STORAGE(T) v[]; };
layout(std430, binding = 4) readonly buffer Mask { STORAGE(M_T) mask[]; };
layout(std430, binding = 5) writeonly buffer Out { STORAGE(T) dst[]; };
#define ROPE_ID 1
#define ROPE_BINDING 6
#define ROPE_PARAM 35u
#include "sdpa_rope.glsl"

const uint LOCAL = 128u;
const uint CHUNK = 1024u;
const uint MAX_D = 512u;
const uint PER_THREAD = MAX_D / LOCAL;
shared float q_row[MAX_D];
shared float scores[CHUNK];
shared float red[LOCAL];

float reduce(float x, bool is_max) {
  uint tid = gl_LocalInvocationID.x;
  red[tid] = x;
  barrier();
  for (uint s = LOCAL / 2u; s > 0u; s >>= 1) {
    if (tid < s) red[tid] = is_max ? max(red[tid], red[tid + s]) : red[tid] + red[tid + s];
    barrier();
  }
  float r = red[0];
  barrier();
  return r;
}

uint so(uint base, uint i, uint b, uint h, uint l, uint d) {  // strided offset
  return P[base + 4u] + b * P[base] + h * P[base + 1u] + l * P[base + 2u] + d * P[base + 3u];
}

void main() {
  uint Hq = P[1], Hkv = P[2], Lq = P[3], Lk = P[4], D = P[5], Dv = P[6];
  float scale = uintBitsToFloat(P[7]);
  bool causal = P[8] != 0u;
  uint mask_kind = P[9];
  const uint QS = 10u, KS = 15u, VS = 20u, MS = 25u, OS = 30u;
  uint id = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  uint i = id % Lq, h = (id / Lq) % Hq, b = id / (Lq * Hq);
  if (b >= P[0]) return;
  uint hk = h / (Hq / Hkv);
  uint tid = gl_LocalInvocationID.x;
  uint q_first = so(QS, 0u, b, h, i, 0u);
  for (uint d = tid; d < D; d += LOCAL) q_row[d] = load_q(q_first, P[QS + 3u], i, d) * scale;
  barrier();
  uint limit = causal ? min(Lk, Lk - Lq + i + 1u) : Lk;
  float m = -1.0 / 0.0, l = 0.0;
  float acc[PER_THREAD];
  for (uint t = 0u; t < PER_THREAD; ++t) acc[t] = 0.0;
  for (uint c0 = 0u; c0 < limit; c0 += CHUNK) {
    uint count = min(CHUNK, limit - c0);
    float local_max = -1.0 / 0.0;
    for (uint j = tid; j < count; j += LOCAL) {
      uint key = c0 + j;
      float s = 0.0;
      for (uint d = 0u; d < D; ++d) s += q_row[d] * LOAD_F(T, k, so(KS, 0u, b, hk, key, d));
      if (mask_kind == 1u) {
        if (LOAD_I(M_T, mask, so(MS, 0u, b, h, i, key)) == 0) s = -1.0 / 0.0;
      } else if (mask_kind == 2u) {
        s += LOAD_F(M_T, mask, so(MS, 0u, b, h, i, key));
      }
      scores[j] = s;
      local_max = max(local_max, s);
    }
    float new_m = max(m, reduce(local_max, true));
    float local_sum = 0.0;
    for (uint j = tid; j < count; j += LOCAL) {
      float p = new_m == -1.0 / 0.0 ? 0.0 : exp(scores[j] - new_m);
      scores[j] = p;
      local_sum += p;
    }
    float chunk_sum = reduce(local_sum, false);  // its barriers publish scores[]
    float alpha = m == -1.0 / 0.0 ? 0.0 : exp(m - new_m);
    l = l * alpha + chunk_sum;
    for (uint t = 0u; t < PER_THREAD; ++t) {
      uint d = tid + t * LOCAL;
      if (d >= Dv) break;
      float a = acc[t] * alpha;
      for (uint j = 0u; j < count; ++j) a += scores[j] * LOAD_F(T, v, so(VS, 0u, b, hk, c0 + j, d));
      acc[t] = a;
    }
    m = new_m;
    barrier();
  }
  float inv = l > 0.0 ? 1.0 / l : 0.0;
  for (uint t = 0u; t < PER_THREAD; ++t) {
    uint d = tid + t * LOCAL;
    if (d >= Dv) break;
    STORE_F(T, dst, so(OS, 0u, b, h, i, d), acc[t] * inv);
  }
}
