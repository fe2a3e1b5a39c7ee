// The query rope folded into the attention: scaled_dot_product_attention(rope(x), k, v)
// builds one ScaledDotProductAttention taking x (and the rope's freqs) in q's place for a
// pending forward rope with a constant offset over the whole head dim and at most
// kFoldRopeMaxRows query rows; its values equal the unfused ops' (the rope evaluated
// first) exactly on the CPU, and so do its vjps for x, k and v.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libcore/ops/fast_primitives.h"
#include "libcore/ops/ops.h"
#include "tests/test_util.h"

using namespace lamina::core;
using lamina::test::expect_arrays_close;
using lamina::test::node_name;
using lamina::test::random_array;

namespace {

constexpr float kScale = 0.125f;
constexpr int64_t kBatch = 2, kQueryHeads = 8, kKvHeads = 2, kKeys = 45;

// The attention of y: its primitive (checked to be a ScaledDotProductAttention).
const ScaledDotProductAttention& attention_of(const Array& y) {
  const auto* p = dynamic_cast<const ScaledDotProductAttention*>(y.primitive().get());
  EXPECT_NE(p, nullptr) << node_name(y);
  return *p;
}

bool folds_rope(const Array& y) { return attention_of(y).rope() != nullptr; }

// y, an attention with a folded rope, as the unfused graph: the same attention built
// directly on the Rope node q (the builder would fold it).
Array unfold(const Array& y, const Array& q) {
  const auto& a = attention_of(y);
  std::vector<Array> inputs{q};
  inputs.insert(inputs.end(), y.inputs().begin() + a.k_index(), y.inputs().end());
  return Array(y.shape(), y.dtype(), std::make_shared<ScaledDotProductAttention>(a.scale(), a.causal(), a.has_mask()),
               std::move(inputs));
}

// One case of the comparisons: x [B, Hq, Lq, D] (also q's shape), K/V of kKeys keys.
struct Case {
  Dtype dtype;
  bool traditional;
  int64_t q_len, head_dim, offset;
  std::string mask;  // "", "causal" or "bool"
  bool freqs = false;

  std::string name() const {
    return std::string(dtype_name(dtype)) + (traditional ? " traditional" : "") + " Lq=" + std::to_string(q_len) +
           " D=" + std::to_string(head_dim) + " offset=" + std::to_string(offset) + " mask=" + mask +
           (freqs ? " freqs" : "");
  }
  Array x() const { return astype(random_array({kBatch, kQueryHeads, q_len, head_dim}, 1, -2.0f, 2.0f), dtype); }
  Array keys(uint32_t seed) const { return astype(random_array({kBatch, kKvHeads, kKeys, head_dim}, seed), dtype); }
  Array rope(const Array& x) const {
    const int dims = static_cast<int>(head_dim);
    if (!freqs) return fast::rope(x, dims, traditional, 10000.0f, 1.0f, offset);
    // Divisors of a llama3-like schedule: base^(2i / dims), some scaled.
    std::vector<float> f;
    for (int64_t i = 0; i < head_dim / 2; ++i) f.push_back(std::pow(500.0f, 2.0f * i / dims) * (i % 3 ? 1 : 4));
    return fast::rope(x, dims, traditional, std::nullopt, 1.0f, offset, Array(f, {head_dim / 2}));
  }
  Array attention(const Array& q, const Array& k, const Array& v) const {
    if (mask == "bool") {
      Array keep = greater(random_array({q_len, kKeys}, 9), Array(-0.6f));
      return fast::scaled_dot_product_attention(q, k, v, kScale, keep);
    }
    return fast::scaled_dot_product_attention(q, k, v, kScale, mask);
  }
};

// The cases: dtypes x traditional x Lq x head dim x offset x mask (with freqs on a few).
std::vector<Case> cases() {
  std::vector<Case> all;
  for (Dtype dtype : {Dtype::float32, Dtype::float16, Dtype::bfloat16}) {
    for (bool traditional : {false, true}) {
      for (int64_t q_len : {1, 3}) {
        for (int64_t head_dim : {40, 64}) {
          for (int64_t offset : {0, 37}) {
            for (const char* mask : {"", "causal", "bool"}) {
              all.push_back(Case{dtype, traditional, q_len, head_dim, offset, mask});
            }
          }
        }
      }
    }
    all.push_back(Case{dtype, false, 3, 64, 37, "causal", true});
    all.push_back(Case{dtype, true, 1, 40, 0, "", true});
  }
  return all;
}

}  // namespace

TEST(AttentionRopeFold, FoldsAPendingQueryRope) {
  Array x = random_array({1, 4, 1, 64}, 1), k = random_array({1, 2, 9, 64}, 2), v = random_array({1, 2, 9, 64}, 3);
  Array q = fast::rope(x, 64, false, 10000.0f, 1.0f, 37);
  Array y = fast::scaled_dot_product_attention(q, k, v, kScale);
  ASSERT_TRUE(folds_rope(y));
  EXPECT_EQ(node_name(y), "ScaledDotProductAttention(scale=0.125, Rope(dims=64, base=10000, scale=1, offset=37))");
  ASSERT_EQ(y.inputs().size(), 3u);
  EXPECT_EQ(y.inputs()[0].id(), x.id());
  EXPECT_EQ(y.inputs()[attention_of(y).k_index()].id(), k.id());
  EXPECT_EQ(y.inputs()[attention_of(y).v_index()].id(), v.id());
  EXPECT_FALSE(q.is_evaluated());  // the Rope node stays for any other user

  // With freqs and a mask: {x, freqs, k, v, mask}.
  Array keep = greater(random_array({1, 9}, 4), Array(-0.5f));
  Array qf = fast::rope(x, 64, true, std::nullopt, 1.0f, 5, random_array({32}, 5, 1.0f, 2.0f));
  Array yf = fast::scaled_dot_product_attention(qf, k, v, kScale, keep);
  ASSERT_TRUE(folds_rope(yf));
  EXPECT_EQ(node_name(yf),
            "ScaledDotProductAttention(scale=0.125, mask, Rope(dims=64, traditional, scale=1, offset=5))");
  const auto& p = attention_of(yf);
  ASSERT_EQ(yf.inputs().size(), 5u);
  EXPECT_EQ(p.k_index(), 2);
  EXPECT_EQ(p.mask_index(), 4);
  EXPECT_EQ(yf.inputs()[0].id(), x.id());
  EXPECT_EQ(yf.inputs()[1].id(), qf.inputs()[1].id());
  EXPECT_EQ(yf.inputs()[p.k_index()].id(), k.id());
  EXPECT_EQ(yf.inputs()[p.mask_index()].dtype(), Dtype::bool_);
  EXPECT_EQ(p.rope_inputs(yf.inputs()).size(), 2u);
}

TEST(AttentionRopeFold, NoFoldOtherwise) {
  Array k = random_array({1, 2, 9, 64}, 2), v = random_array({1, 2, 9, 64}, 3);
  auto sdpa = [&](const Array& q) { return fast::scaled_dot_product_attention(q, k, v, kScale, "causal"); };
  auto takes_rope_node = [&](const Array& q) {
    Array y = sdpa(q);
    return !folds_rope(y) && y.inputs()[0].id() == q.id();
  };
  // More query rows than kFoldRopeMaxRows (a prompt's); that many still fold.
  auto rows = [](int64_t n) { return fast::rope(random_array({1, 4, n, 64}, 1), 64, false, 10000.0f, 1.0f, 0); };
  EXPECT_TRUE(takes_rope_node(rows(kFoldRopeMaxRows + 1)));
  EXPECT_TRUE(folds_rope(sdpa(rows(kFoldRopeMaxRows))));
  Array x = random_array({1, 4, 1, 64}, 1);
  // Part of the head dim rotated.
  EXPECT_TRUE(takes_rope_node(fast::rope(x, 32, false, 10000.0f, 1.0f, 3)));
  // The inverse rotation (a vjp's rope).
  Rope::Params inverse;
  inverse.dims = 64;
  inverse.offset = 3;
  inverse.inverse = true;
  EXPECT_TRUE(takes_rope_node(Array(x.shape(), x.dtype(), std::make_shared<Rope>(inverse), {x})));
  // An offset array.
  EXPECT_TRUE(takes_rope_node(fast::rope(x, 64, false, 10000.0f, 1.0f, Array(std::vector<int32_t>{3}, {1}))));
  // Evaluated already.
  Array done = fast::rope(x, 64, false, 10000.0f, 1.0f, 3);
  done.eval();
  EXPECT_TRUE(takes_rope_node(done));
  // Cast to the promoted dtype first (q float16, k and v float32).
  Array half = fast::rope(astype(x, Dtype::float16), 64, false, 10000.0f, 1.0f, 3);
  EXPECT_FALSE(folds_rope(sdpa(half)));
}

TEST(AttentionRopeFold, ValuesEqualTheUnfusedOps) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name());
    Array x = c.x(), k = c.keys(2), v = c.keys(3);
    Array fused = c.attention(c.rope(x), k, v);
    ASSERT_TRUE(folds_rope(fused));
    Array q = c.rope(x);
    q.eval();  // no fold: the attention of the stored rope
    Array unfused = c.attention(q, k, v);
    ASSERT_FALSE(folds_rope(unfused));
    // The same rope kernel and the same attention kernel on the same q: equal bits.
    expect_arrays_close(fused, unfused, 0.0, 0.0);
  }
}

TEST(AttentionRopeFold, VjpEqualsTheUnfusedOps) {
  const Case vjp_cases[] = {{Dtype::float32, false, 3, 40, 37, "causal"}, {Dtype::float32, true, 1, 64, 0, "bool"},
                            {Dtype::float32, false, 2, 64, 5, "", true},   {Dtype::float16, false, 1, 64, 37, ""},
                            {Dtype::bfloat16, true, 3, 40, 0, "causal"}};
  for (const Case& c : vjp_cases) {
    SCOPED_TRACE(c.name());
    // The vjps w.r.t. x, k and v of the fused graph and of the unfused one.
    const Array cotangent = astype(random_array({kBatch, kQueryHeads, c.q_len, c.head_dim}, 7), c.dtype);
    auto run = [&](bool fold) {
      auto fun = [&](const std::vector<Array>& p) {
        Array q = c.rope(p[0]);
        Array y = c.attention(q, p[1], p[2]);
        EXPECT_TRUE(folds_rope(y));
        return std::vector<Array>{fold ? y : unfold(y, q)};
      };
      return vjp(fun, {c.x(), c.keys(2), c.keys(3)}, {cotangent});
    };
    auto [fused_out, fused_grads] = run(true);
    auto [unfused_out, unfused_grads] = run(false);
    expect_arrays_close(fused_out[0], unfused_out[0], 0.0, 0.0);
    for (size_t i = 0; i < 3; ++i) {
      SCOPED_TRACE("argument " + std::to_string(i));
      expect_arrays_close(fused_grads[i], unfused_grads[i], 0.0, 0.0);
    }
  }
}
