// A product's matvec writing its one output row straight into a region of another array
// (SliceUpdate's folded product: the k and v projections of a decode step writing the KV
// cache, the k rows rotated first), with no product array and no copy or rope dispatch.
#pragma once

#include <vector>

#include "libcore/array/array.h"
#include "libcore/backend/vulkan/context.h"
#include "libcore/ops/fast_primitives.h"
#include "libcore/ops/primitive.h"

namespace lamina::core::vulkan {

// Records `product` (its inputs given; one row of x) so that output n goes to `region`'s
// flat index n (a view of a GPU buffer of the product's dtype, at most two axes longer
// than 1), rotated by `rope` first when given (its dims the region's last axis; `freqs`
// its freqs, float32, or null): a team of the matvec computes both outputs of a pair.
// False, with no matvec recorded, when no matvec kernel takes it (the caller evaluates the
// product into a temporary instead). Today: QuantizedMatmul with a transposed weight, not
// gated.
bool record_matvec_into(Context& ctx, const Primitive& product, const std::vector<Array>& inputs, const Array& region,
                        const Rope::Params* rope, const Array* freqs);

}  // namespace lamina::core::vulkan
