// The op API model code calls: include this one header.
#pragma once

#include "libcore/array/array.h"
#include "libcore/ops/creation.h"
#include "libcore/ops/elementwise.h"
#include "libcore/ops/reduce.h"
#include "libcore/ops/slice_update.h"
#include "libcore/ops/views.h"
#include "libcore/transforms/eval.h"
#include "libcore/transforms/vjp.h"
#include "libcore/ops/indexing.h"
#include "libcore/ops/sort.h"
#include "libcore/ops/random.h"
#include "libcore/ops/fast.h"
#include "libcore/ops/matmul.h"
#include "libcore/ops/softmax.h"
#include "quant/quantized_ops.h"
