// The KV-cache write of a decode step folded into its projection (fold_product,
// slice_update_primitive.h): slice_update(cache, [rope](split_heads(x @ W^T))) of a pending
// one-row quantized product (with or without a folded norm) builds one SliceUpdate taking
// the product's inputs in the update's place; views that reorder the product's elements,
// two rows, casts, evaluated, gated, float or untransposed products, offset arrays and
// partial ropes do not fold. Values equal the unfused ops' (the product evaluated first)
// exactly on the CPU, and so do the vjps for x and the cache.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libcore/ops/fast_primitives.h"
#include "libcore/ops/ops.h"
#include "libcore/ops/slice_update_primitive.h"
#include "quant/quantized_ops.h"
#include "tests/test_util.h"

using namespace lamina::core;
using lamina::test::expect_arrays_close;
using lamina::test::node_name;
using lamina::test::random_array;

namespace {

constexpr int64_t kK = 128, kHeads = 3, kCapacity = 9, kPosition = 5;
constexpr float kEps = 1e-5f;

const SliceUpdate& update_of(const Array& y) {
  const auto* p = dynamic_cast<const SliceUpdate*>(y.primitive().get());
  EXPECT_NE(p, nullptr) << node_name(y);
  return *p;
}
bool folds_product(const Array& y) { return update_of(y).product() != nullptr; }

// [1, L, H * D] -> [1, H, L, D], as the attention layers split heads.
Array split_heads(const Array& p, int64_t head_dim) {
  return transpose(reshape(p, {1, p.shape(1), p.shape(2) / head_dim, head_dim}), {0, 2, 1, 3});
}

// One case: the projection's kind and dtype, the rope (none, half-split, traditional,
// freqs) and the folded norm.
struct Case {
  Dtype dtype;
  int bits;  // 0: a float Matmul (which does not fold)
  std::string rope;  // "", "split", "traditional" or "freqs"
  bool norm;
  int64_t head_dim = 64;

  std::string name() const {
    return std::string(dtype_name(dtype)) + (bits ? " " + std::to_string(bits) + "-bit" : " float") +
           (rope.empty() ? "" : " rope " + rope) + (norm ? " norm" : "") + " D=" + std::to_string(head_dim);
  }
  int64_t N() const { return kHeads * head_dim; }
  Array x(int64_t rows = 1) const { return astype(random_array({1, rows, kK}, 1, -2.0f, 2.0f), dtype); }
  Array weight() const { return astype(random_array({N(), kK}, 2, -0.3f, 0.3f), dtype); }
  Array norm_weight() const { return astype(random_array({kK}, 3, 0.5f, 1.5f), dtype); }
  Array cache() const { return astype(random_array({1, kHeads, kCapacity, head_dim}, 4), dtype); }
  // The projection of x (its rows normalised first with a norm).
  Array product(const Array& x, const Array& w, const Array& nw) const {
    Array a = norm ? fast::rms_norm(x, nw, kEps) : x;
    if (!bits) return matmul(a, transpose(w));
    auto q = quantize(w, 64, bits);
    return quantized_matmul(a, q.weight, q.scales, q.biases, true, 64, bits);
  }
  Array rotate(const Array& k) const {
    const int dims = static_cast<int>(head_dim);
    if (rope.empty()) return k;
    if (rope != "freqs") return fast::rope(k, dims, rope == "traditional", 10000.0f, 1.0f, kPosition);
    std::vector<float> f;  // divisors of a llama3-like schedule
    for (int64_t i = 0; i < head_dim / 2; ++i) f.push_back(std::pow(500.0f, 2.0f * i / dims) * (i % 3 ? 1 : 4));
    return fast::rope(k, dims, false, std::nullopt, 1.0f, kPosition, Array(f, {head_dim / 2}));
  }
  // The cache with row kPosition written from the projection (evaluated first when
  // `unfused`: then nothing folds into it).
  Array write(const Array& cache, const Array& x, const Array& w, const Array& nw, bool unfused = false) const {
    Array p = product(x, w, nw);
    if (unfused) p.eval();
    return slice_update(cache, rotate(split_heads(p, head_dim)), {0, 0, kPosition, 0},
                        {1, kHeads, kPosition + 1, head_dim});
  }
};

std::vector<Case> cases() {
  std::vector<Case> all;
  for (Dtype dtype : {Dtype::float32, Dtype::float16, Dtype::bfloat16}) {
    for (int bits : {4, 8}) {
      for (const char* rope : {"", "split", "traditional"}) {
        for (bool norm : {false, true}) all.push_back(Case{dtype, bits, rope, norm});
      }
    }
    all.push_back(Case{dtype, 4, "freqs", true});
    all.push_back(Case{dtype, 3, "split", false, 40});
  }
  return all;
}

// y, a write with a folded product, as the unfused graph: the same SliceUpdate (rope
// folded or none) taking the pending product through its views.
Array unfold(const Array& y, const Array& source) {
  const auto& s = update_of(y);
  std::vector<Array> inputs{y.inputs()[0], source};
  const auto extra = s.rope_inputs(y.inputs(), source);
  inputs.insert(inputs.end(), extra.begin() + 1, extra.end());
  return Array(y.shape(), y.dtype(), std::make_shared<SliceUpdate>(s.start(), s.step(), s.rope()), std::move(inputs));
}

}  // namespace

TEST(KvWriteFold, FoldsAPendingOneRowProduct) {
  const Case c{Dtype::float32, 4, "freqs", true};
  Array x = c.x(), nw = c.norm_weight(), cache = c.cache();
  Array y = c.write(cache, x, c.weight(), nw);
  ASSERT_TRUE(folds_product(y));
  EXPECT_EQ(node_name(y),
            "SliceUpdate(Rope(dims=64, scale=1, offset=5), "
            "QuantizedMatmul(group_size=64, bits=4, transpose, rms_norm))");
  // {cache, x, wq, scales, biases, norm weight, freqs}
  ASSERT_EQ(y.inputs().size(), 7u);
  EXPECT_EQ(y.inputs()[0].id(), cache.id());
  EXPECT_EQ(y.inputs()[1].id(), x.id());
  EXPECT_EQ(y.inputs()[5].id(), nw.id());
  EXPECT_EQ(y.inputs()[6].shape(), (Shape{32}));
  EXPECT_EQ(update_of(y).product_shape(), (Shape{1, 1, kHeads * 64}));
  EXPECT_EQ(update_of(y).region(y.inputs()), (Shape{1, kHeads, 1, 64}));

  // The v projection: no rope, no norm.
  const Case v{Dtype::float16, 8, "", false};
  Array yv = v.write(v.cache(), v.x(), v.weight(), Array());
  ASSERT_TRUE(folds_product(yv));
  EXPECT_EQ(node_name(yv), "SliceUpdate(QuantizedMatmul(group_size=64, bits=8, transpose))");
  EXPECT_EQ(yv.inputs().size(), 5u);
}

TEST(KvWriteFold, NoFoldOtherwise) {
  const Case c{Dtype::float32, 4, "", false};
  Array w = c.weight(), cache = c.cache();
  auto region = [](int64_t rows) { return std::pair<Shape, Shape>{{0, 0, 2, 0}, {1, kHeads, 2 + rows, 64}}; };
  auto no_fold = [](const Array& y) { return !folds_product(y); };
  // Two rows (a prompt's).
  Array p2 = c.product(c.x(2), w, Array());
  EXPECT_TRUE(no_fold(slice_update(cache, split_heads(p2, 64), region(2).first, region(2).second)));
  // Evaluated already.
  Array p = c.product(c.x(), w, Array());
  p.eval();
  EXPECT_TRUE(no_fold(slice_update(cache, split_heads(p, 64), region(1).first, region(1).second)));
  // A view that reorders the elements: [1, 1, H, D] -> [1, D, 1, H].
  Array pending = c.product(c.x(), w, Array());
  Array cache_t = random_array({1, 64, kCapacity, kHeads}, 5);
  Array reordered = transpose(reshape(pending, {1, 1, kHeads, 64}), {0, 3, 1, 2});
  EXPECT_TRUE(no_fold(slice_update(cache_t, reordered, {0, 0, 2, 0}, {1, 64, 3, kHeads})));
  // A float product; an untransposed quantized one.
  const Case f{Dtype::float32, 0, "", false};
  EXPECT_TRUE(no_fold(f.write(cache, f.x(), w, Array())));
  auto qw = quantize(transpose(w), 64, 4);
  Array untransposed = quantized_matmul(c.x(), qw.weight, qw.scales, qw.biases, false, 64, 4);
  EXPECT_TRUE(no_fold(slice_update(cache, split_heads(untransposed, 64), region(1).first, region(1).second)));
  // Cast to the cache's dtype first.
  Array half_cache = astype(cache, Dtype::float16);
  Array y_cast = slice_update(half_cache, split_heads(pending, 64), region(1).first, region(1).second);
  EXPECT_NE(dynamic_cast<const SliceUpdate*>(y_cast.primitive().get()), nullptr);
  EXPECT_TRUE(no_fold(y_cast));
  // A gated product (the MLP's).
  Array x = c.x();
  Array gated = swiglu(c.product(x, w, Array()), c.product(x, w * Array(2.0f), Array()));
  ASSERT_NE(node_name(gated).find("swiglu"), std::string::npos) << node_name(gated);
  EXPECT_TRUE(no_fold(slice_update(cache, split_heads(gated, 64), region(1).first, region(1).second)));
  // Ropes that cannot go into the product's store: part of the head dim, an offset array,
  // the inverse rotation, positions along axis -2 (the heads, without the transpose).
  Array k = split_heads(pending, 64);
  EXPECT_TRUE(no_fold(slice_update(cache, fast::rope(k, 32, false, 10000.0f, 1.0f, 3), region(1).first,
                                   region(1).second)));
  EXPECT_TRUE(no_fold(slice_update(cache, fast::rope(k, 64, false, 10000.0f, 1.0f, Array(std::vector<int32_t>{3}, {1})),
                                   region(1).first, region(1).second)));
  Rope::Params inverse;
  inverse.dims = 64;
  inverse.inverse = true;
  EXPECT_TRUE(no_fold(slice_update(cache, Array(k.shape(), k.dtype(), std::make_shared<Rope>(inverse), {k}),
                                   region(1).first, region(1).second)));
  Array heads_on_rows = reshape(pending, {1, 1, kHeads, 64});
  Array cache_rows = random_array({1, 1, kCapacity, 64}, 6);
  EXPECT_TRUE(no_fold(slice_update(cache_rows, fast::rope(heads_on_rows, 64, false, 10000.0f, 1.0f, 3), {0, 0, 2, 0},
                                   {1, 1, 2 + kHeads, 64})));
  // ... which folds without the rope (the elements keep their order).
  EXPECT_TRUE(folds_product(slice_update(cache_rows, heads_on_rows, {0, 0, 2, 0}, {1, 1, 2 + kHeads, 64})));
}

TEST(KvWriteFold, ValuesEqualTheUnfusedOps) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name());
    Array x = c.x(), w = c.weight(), nw = c.norm_weight(), cache = c.cache();
    Array fused = c.write(cache, x, w, nw);
    ASSERT_TRUE(folds_product(fused));
    Array unfused = c.write(cache, x, w, nw, true);
    ASSERT_FALSE(folds_product(unfused));
    // The same product, rope and copy kernels on the same values: equal bits.
    expect_arrays_close(fused, unfused, 0.0, 0.0);
  }
}

TEST(KvWriteFold, VjpEqualsTheUnfusedOps) {
  const Case vjp_cases[] = {{Dtype::float32, 4, "split", true},
                            {Dtype::float32, 8, "", false},
                            {Dtype::float32, 4, "traditional", false},
                            {Dtype::float16, 4, "freqs", false},
                            {Dtype::float32, 8, "", true}};
  for (const Case& c : vjp_cases) {
    SCOPED_TRACE(c.name());
    const Array cotangent = astype(random_array({1, kHeads, kCapacity, c.head_dim}, 7), c.dtype);
    // The vjps w.r.t. the cache and x of the fused graph and of the unfused one.
    auto run = [&](bool fold) {
      auto fun = [&](const std::vector<Array>& args) {
        Array p = c.product(args[1], c.weight(), c.norm_weight());
        Array source = c.rotate(split_heads(p, c.head_dim));
        Array y = slice_update(args[0], source, {0, 0, kPosition, 0}, {1, kHeads, kPosition + 1, c.head_dim});
        EXPECT_TRUE(folds_product(y));
        return std::vector<Array>{fold ? y : unfold(y, c.rope.empty() ? source : source.inputs()[0])};
      };
      return vjp(fun, {c.cache(), c.x()}, {cotangent});
    };
    auto [fused_out, fused_grads] = run(true);
    auto [unfused_out, unfused_grads] = run(false);
    expect_arrays_close(fused_out[0], unfused_out[0], 0.0, 0.0);
    for (size_t i = 0; i < 2; ++i) {
      SCOPED_TRACE("argument " + std::to_string(i));
      expect_arrays_close(fused_grads[i], unfused_grads[i], 0.0, 0.0);
    }
  }
}
