// slice_update: a copy of an array with one strided region replaced (the KV cache writes
// through it; when nothing else holds the destination, it is updated in place).
#pragma once

#include "libcore/array/array.h"

namespace lamina::core {

// Returns dst with dst[start:stop:step] = update (update broadcast to the region, cast to
// dst's dtype). Negative start/stop count from the end.
Array slice_update(const Array& dst, const Array& update, Shape start, Shape stop,
                   Shape step = {});

}  // namespace lamina::core
