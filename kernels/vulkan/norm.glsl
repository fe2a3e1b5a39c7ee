// The optional rms_norm folded into a matvec's input row (out = rms_norm(x, w) @ W, see
// fold_norm): w is row-major of dtype NORM_T, bound at NORM_BINDING (as elements, norm_w,
// and 16-byte vectors, norm_w4), from element P[NORM_PARAM + 1]; P[NORM_PARAM] holds eps's
// float32 bits. As a lane loads its x values it multiplies each by its w (norm_step) and
// adds x^2 to its float32 sum of squares; the team reduces those sums as it reduces its
// dot products, and every output is scaled by 1 / sqrt(mean(x^2) + eps) (norm_scale)
// before the addend and the one rounding to the output dtype. NORM (specialisation
// constant NORM_ID) switches it; when 0 the binding is a dummy (one of the kernel's inputs)
// and never read. The includer defines NORM_T, NORM_BINDING, NORM_ID and NORM_PARAM (after
// strided.glsl).
layout(std430, binding = NORM_BINDING) readonly buffer NormW { STORAGE(NORM_T) norm_w[]; };
layout(std430, binding = NORM_BINDING) readonly buffer NormW4 { uvec4 norm_w4[]; };
layout(constant_id = NORM_ID) const uint NORM = 0u;

// The element offset of w[0].
uint norm_first() { return P[NORM_PARAM + 1u]; }

// x times its weight w, x^2 added to sum_sq.
float norm_step(float x, float w, inout float sum_sq) {
  sum_sq = fma(x, x, sum_sq);
  return x * w;
}

// The row's scale from its sum of squares over all k elements (1 without a norm).
float norm_scale(float sum_sq, uint k) {
  return NORM != 0u ? inversesqrt(sum_sq / float(k) + uintBitsToFloat(P[NORM_PARAM])) : 1.0;
}
