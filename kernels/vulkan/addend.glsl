// The optional addend of the product kernels (out = a @ b + c: a residual add folded into
// the projection, see fold_addend): c is row-major of the output's shape and of dtype
// ADDEND_T, bound at ADDEND_BINDING, and output element i (as the kernel indexes dst) adds
// c[P[ADDEND_PARAM] + i] to its float32 sum before the one rounding to the output dtype.
// ADDEND (specialisation constant ADDEND_ID) switches it; when 0 the binding is a dummy
// (one of the kernel's inputs) and never read. The includer defines ADDEND_T,
// ADDEND_BINDING, ADDEND_ID and ADDEND_PARAM (after strided.glsl).
layout(std430, binding = ADDEND_BINDING) readonly buffer Addend { STORAGE(ADDEND_T) addend[]; };
layout(constant_id = ADDEND_ID) const uint ADDEND = 0u;

// v plus output element i's addend (v itself without one).
float plus_addend(float v, uint i) { return ADDEND != 0u ? v + LOAD_F(ADDEND_T, addend, P[ADDEND_PARAM] + i) : v; }
