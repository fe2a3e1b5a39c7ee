// The query rope an attention kernel applies as it loads q (ScaledDotProductAttention with
// a folded rope, libcore/ops/fast_primitives.h): q is then the rope's x, and each element
// is rotated as rope.comp rotates it and rounded to T, as the Rope stored q, so that the
// attention sees the values the unfused rope wrote. ROPE and its parameters: rope_pair.glsl.
// The includer defines ROPE_ID, ROPE_BINDING and ROPE_PARAM and includes this after
// declaring P and q (of dtype T).
#include "rope_pair.glsl"

// Element d of q's query row i, whose elements sit at first + d * step.
float load_q(uint first, uint step, uint i, uint d) {
  float x = LOAD_F(T, q, first + d * step);
  if (ROPE == 0u) return x;
  uint dims = rope_dims(), half_dims = dims / 2u;
  if (d >= dims) return x;
  // The pair (a, b) that d belongs to, rotated by frequency j: (2j, 2j + 1) traditional,
  // else (j, j + dims / 2).
  bool traditional = rope_traditional();
  uint j = traditional ? d / 2u : d % half_dims;
  bool is_a = traditional ? d % 2u == 0u : d < half_dims;
  uint pair_step = traditional ? 1u : half_dims;
  float other = LOAD_F(T, q, first + (is_a ? d + pair_step : d - pair_step) * step);
  vec2 r = rope_pair(is_a ? x : other, is_a ? other : x, j, i);
  return ROUND_F(T, is_a ? r.x : r.y);
}
