// The optional gate of the matvec kernels (out = silu(x @ W) * (x @ W_up): the MLP's gate
// and up projections as one product, see fold_swiglu). GATED (specialisation constant
// GATED_ID) switches it: a team's ROWS accumulators then hold OUTS = ROWS / 2 outputs'
// gate products (accumulators 0 .. OUTS - 1, weight W) and their up products (OUTS ..
// ROWS - 1, weight W_up, bound by the includer, a dummy when GATED is 0), so that x is
// loaded and normalised once for both; the writer stores silu(g) * u (team_output) in
// float32, rounded once. silu(v) = v / (1 + exp(-v)). The includer defines GATED_ID and
// includes this after ROWS and MAX_ROWS.
layout(constant_id = GATED_ID) const uint GATED = 0u;
const uint OUTS = GATED != 0u ? ROWS / 2u : ROWS;  // outputs per team

// Whether accumulator r of a team reads the up weight.
bool up_row(uint r) { return GATED != 0u && r >= OUTS; }

// Output r < OUTS of a team from its reduced (and scaled) accumulators v.
float team_output(float v[MAX_ROWS], uint r) {
  return GATED != 0u ? v[r] / (1.0 + exp(-v[r])) * v[r + OUTS] : v[r];
}
