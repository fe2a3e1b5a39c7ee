// The query rope an attention kernel applies as it loads q (ScaledDotProductAttention with
// a folded rope, libcore/ops/fast_primitives.h): q is then the rope's x, and each element
// is rotated as rope.comp rotates it and rounded to T, as the Rope stored q, so that the
// attention sees the values the unfused rope wrote. ROPE (specialisation constant ROPE_ID)
// switches it; when 0, q is loaded as it is, no parameter of the block below is read and
// the freqs binding is a dummy. Parameters from P[ROPE_PARAM]: dims, traditional, offset,
// scale bits, has_freqs, freqs offset, then inv_freq[dims / 2] bits (unused with freqs:
// 1 / freqs[j] instead; vulkan::push_inv_freqs). The includer defines ROPE_ID,
// ROPE_BINDING and ROPE_PARAM and includes this after declaring P and q (of dtype T).
layout(std430, binding = ROPE_BINDING) readonly buffer RopeFreqs { float rope_freqs[]; };
layout(constant_id = ROPE_ID) const uint ROPE = 0u;

// Element d of q's query row i, whose elements sit at first + d * step.
float load_q(uint first, uint step, uint i, uint d) {
  float x = LOAD_F(T, q, first + d * step);
  if (ROPE == 0u) return x;
  uint dims = P[ROPE_PARAM], half_dims = dims / 2u;
  if (d >= dims) return x;
  // The pair (a, b) that d belongs to, rotated by frequency j: (2j, 2j + 1) traditional,
  // else (j, j + dims / 2).
  bool traditional = P[ROPE_PARAM + 1u] != 0u;
  uint j = traditional ? d / 2u : d % half_dims;
  bool is_a = traditional ? d % 2u == 0u : d < half_dims;
  uint pair_step = traditional ? 1u : half_dims;
  float other = LOAD_F(T, q, first + (is_a ? d + pair_step : d - pair_step) * step);
  float a = is_a ? x : other, b = is_a ? other : x;
  float position = float(int(P[ROPE_PARAM + 2u]) + int(i)) * uintBitsToFloat(P[ROPE_PARAM + 3u]);
  bool has_freqs = P[ROPE_PARAM + 4u] != 0u;
  float inv_freq = has_freqs ? 1.0 / rope_freqs[P[ROPE_PARAM + 5u] + j] : uintBitsToFloat(P[ROPE_PARAM + 6u + j]);
  float angle = position * inv_freq;
  float c = cos(angle), s = sin(angle);
  return ROUND_F(T, is_a ? a * c - b * s : a * s + b * c);
}
