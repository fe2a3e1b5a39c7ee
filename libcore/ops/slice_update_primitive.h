// SliceUpdate(dst, update): dst with the region start + i * step replaced by update.
// The update can be computed as it is written, by a kernel that writes the region itself
// (the KV-cache write of every attention layer, see slice_update()):
// - with a rope, the inputs are {dst, x, [freqs], [offset]} and the region gets rope(x)
//   (that Rope's inputs): slice_update(cache, rope(k)) in one kernel;
// - with a product (fold_product), the inputs are {dst, the product's inputs...,
//   [freqs]} and the update is the product's output (one row, product_shape()) read in
//   row-major order as the region's shape; with a rope too it is rotated first (x = that
//   reshaped product; no offset array, rotating the whole last axis, a region with one
//   position on axis -2): the k and v projections of a decode step writing their rows
//   straight into the cache.
#pragma once

#include <memory>
#include <optional>
#include <ostream>
#include <vector>

#include "libcore/ops/fast_primitives.h"
#include "libcore/ops/primitive.h"

namespace lamina::core {

class SliceUpdate : public Primitive {
 public:
  SliceUpdate(Shape start, Shape step, std::shared_ptr<Rope> rope = nullptr,
              std::shared_ptr<Primitive> product = nullptr, int product_inputs = 0, Shape product_shape = {},
              Shape region = {})
      : start_(std::move(start)),
        step_(std::move(step)),
        rope_(std::move(rope)),
        product_(std::move(product)),
        product_inputs_(product_inputs),
        product_shape_(std::move(product_shape)),
        region_(std::move(region)) {}
  LAMINA_PRIMITIVE(SliceUpdate)
  LAMINA_VJP
  void print(std::ostream& os) const override;
  const Shape& start() const { return start_; }
  const Shape& step() const { return step_; }
  // The rope applied to the update (null: the update is written as it is).
  const std::shared_ptr<Rope>& rope() const { return rope_; }
  // The product computing the update (null: the update, or the rope's x, is an input).
  const std::shared_ptr<Primitive>& product() const { return product_; }
  const Shape& product_shape() const { return product_shape_; }
  // The region's shape (the update's).
  Shape region(const std::vector<Array>& inputs) const { return product_ ? region_ : inputs[1].shape(); }
  // With a product: its inputs.
  std::vector<Array> product_inputs(const std::vector<Array>& inputs) const {
    return std::vector<Array>(inputs.begin() + 1, inputs.begin() + 1 + product_inputs_);
  }
  // With a rope: its inputs, x given ({x, [freqs], [offset]}: x then all of a
  // SliceUpdate's inputs after dst and the product's).
  std::vector<Array> rope_inputs(const std::vector<Array>& inputs, const Array& x) const {
    std::vector<Array> r{x};
    r.insert(r.end(), inputs.begin() + 1 + (product_ ? product_inputs_ : 1), inputs.end());
    return r;
  }
  // The update before any rope (the rope's x with one), of the region's shape: inputs[1],
  // or the product evaluated now on `device` (a row-major temporary seen in that shape).
  Array source_now(const std::vector<Array>& inputs, const Device& device) const;

 private:
  Shape start_, step_;
  std::shared_ptr<Rope> rope_;
  std::shared_ptr<Primitive> product_;
  int product_inputs_;
  Shape product_shape_, region_;
};

// The pending product whose output `source` is, or nothing: source a view of it that
// keeps the row-major order (reshapes, transposes of axes of size 1), the product a
// QuantizedMatmul with a transposed weight (a quantized Linear), not gated, of one output
// row and dtype t, not evaluated yet. Float products are left alone: the GPU's float
// matvec has no region store, and evaluating the product first inside the SliceUpdate
// put a barrier between it and the write in the same level (float16 generation on an
// H200 594 -> 525 tok/s when they folded).
std::optional<Array> fold_product(Array source, Dtype t);

}  // namespace lamina::core
