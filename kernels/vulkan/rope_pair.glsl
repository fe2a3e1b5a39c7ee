// A rope applied by another kernel (a folded Rope, libcore/ops/fast_primitives.h and
// slice_update_primitive.h): the rotation of one pair (a, b) of a row, as rope.comp
// computes it. ROPE (specialisation constant ROPE_ID) switches it; when 0 no parameter of
// the block below is read and the freqs binding is a dummy. Parameters from P[ROPE_PARAM]:
// dims, traditional, offset, scale bits, has_freqs, freqs offset, then inv_freq[dims / 2]
// bits (unused with freqs: 1 / freqs[j] instead; vulkan::push_inv_freqs). The includer
// defines ROPE_ID, ROPE_BINDING and ROPE_PARAM and includes this after declaring P.
layout(std430, binding = ROPE_BINDING) readonly buffer RopeFreqs { float rope_freqs[]; };
layout(constant_id = ROPE_ID) const uint ROPE = 0u;

uint rope_dims() { return P[ROPE_PARAM]; }
bool rope_traditional() { return P[ROPE_PARAM + 1u] != 0u; }

// (a, b) rotated by frequency j at row i (position offset + i): (a c - b s, a s + b c).
vec2 rope_pair(float a, float b, uint j, uint i) {
  float position = float(int(P[ROPE_PARAM + 2u]) + int(i)) * uintBitsToFloat(P[ROPE_PARAM + 3u]);
  bool has_freqs = P[ROPE_PARAM + 4u] != 0u;
  float inv_freq = has_freqs ? 1.0 / rope_freqs[P[ROPE_PARAM + 5u] + j] : uintBitsToFloat(P[ROPE_PARAM + 6u + j]);
  float angle = position * inv_freq;
  float c = cos(angle), s = sin(angle);
  return vec2(a * c - b * s, a * s + b * c);
}
