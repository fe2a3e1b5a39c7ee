// CPU evaluation of ScaledDotProductAttention: the work is split into (batch, K/V head,
// query block, key chunk) tasks for kernels/cpu/attention.h. Key chunks (flash-decoding)
// are used only when the other splits give too few tasks for the pool (decoding one token
// with few K/V heads); their partial softmax states are merged afterwards.
#include "kernels/cpu/attention.h"

#include <algorithm>
#include <vector>

#include "libcore/backend/cpu/fast_rows.h"
#include "libcore/backend/cpu/thread_pool.h"
#include "libcore/ops/fast_primitives.h"

namespace lamina::core {

namespace {

using kernels::AttentionMask;
using kernels::AttentionProblem;

// Rows per task are about this many (query heads of a group x queries of a block).
constexpr int64_t kRowsPerTask = 64;
// Key chunks are at least this long.
constexpr int64_t kMinKeyChunk = 256;

std::array<int64_t, 4> strides4(const Array& a) {
  return {a.strides()[0], a.strides()[1], a.strides()[2], a.strides()[3]};
}

template <typename T, AttentionMask kMask, typename M>
void run_attention(const AttentionProblem& pr, const std::vector<Array>& inputs, const M* mask,
                   Array& out) {
  const T* q = inputs[0].data<T>();
  const T* k = inputs[1].data<T>();
  const T* v = inputs[2].data<T>();
  T* o = out.data<T>();
  const int64_t group = pr.group();
  const int64_t q_block = std::clamp<int64_t>(kRowsPerTask / group, 1, pr.q_len);
  const int64_t n_qblocks = (pr.q_len + q_block - 1) / q_block;
  const int64_t base_tasks = pr.batch * pr.kv_heads * n_qblocks;
  const int64_t threads = cpu::num_threads();

  int64_t chunk_len = std::max<int64_t>(pr.kv_len, 1);
  if (base_tasks < threads && pr.kv_len >= 2 * kMinKeyChunk) {
    int64_t want = std::min((2 * threads + base_tasks - 1) / base_tasks, pr.kv_len / kMinKeyChunk);
    chunk_len = (pr.kv_len + want - 1) / want;
    chunk_len = (chunk_len + kernels::kAttentionKeyTile - 1) / kernels::kAttentionKeyTile *
                kernels::kAttentionKeyTile;
  }
  const int64_t chunks = std::max<int64_t>(1, (pr.kv_len + chunk_len - 1) / chunk_len);
  const int64_t out_rows = pr.batch * pr.q_heads * pr.q_len;
  const int64_t state = pr.v_dim + 2;
  std::vector<float> partial(chunks > 1 ? static_cast<size_t>(chunks * out_rows * state) : 0);

  // Tasks are dealt to slots round-robin so that causal blocks of unequal cost mix.
  const int64_t tasks = base_tasks * chunks;
  const int64_t slots = std::min(tasks, threads);
  cpu::parallel_for(slots, 1, [&](int64_t slot_begin, int64_t slot_end) {
    kernels::AttentionScratch scratch;
    for (int64_t slot = slot_begin; slot < slot_end; ++slot) {
      for (int64_t t = slot; t < tasks; t += slots) {
        const int64_t c = t % chunks;
        const int64_t qb = (t / chunks) % n_qblocks;
        const int64_t hk = (t / chunks / n_qblocks) % pr.kv_heads;
        const int64_t b = t / chunks / n_qblocks / pr.kv_heads;
        const int64_t i0 = qb * q_block, i1 = std::min(pr.q_len, i0 + q_block);
        const int64_t j0 = c * chunk_len, j1 = std::min(pr.kv_len, j0 + chunk_len);
        kernels::attention_block<T, kMask, M>(pr, q, k, v, mask, b, hk, i0, i1, j0, j1, scratch);
        if (chunks == 1) {
          kernels::attention_store(pr, scratch, b, hk, i0, i1, o);
        } else {
          kernels::attention_store_partial(pr, scratch, b, hk, i0, i1,
                                           partial.data() + c * out_rows * state);
        }
      }
    }
  });
  if (chunks == 1) return;
  cpu::parallel_for(out_rows, 16, [&](int64_t begin, int64_t end) {
    std::vector<float> tmp(static_cast<size_t>(pr.v_dim));
    for (int64_t r = begin; r < end; ++r) {
      kernels::attention_merge_row(partial.data() + r * state, out_rows * state, chunks, pr.v_dim,
                                   tmp.data(), o + r * pr.v_dim);
    }
  });
}

template <typename T>
void dispatch_mask(const AttentionProblem& pr, const std::vector<Array>& inputs, bool has_mask,
                   Array& out) {
  if (!has_mask) {
    run_attention<T, AttentionMask::none, float>(pr, inputs, nullptr, out);
  } else if (inputs[3].dtype() == Dtype::bool_) {
    run_attention<T, AttentionMask::keep, bool>(pr, inputs, inputs[3].data<bool>(), out);
  } else if (inputs[3].dtype() == Dtype::float32) {
    run_attention<T, AttentionMask::additive, float>(pr, inputs, inputs[3].data<float>(), out);
  } else {
    throw Error(std::string("scaled_dot_product_attention: mask of dtype ") +
                dtype_name(inputs[3].dtype()) + " (the op builder passes bool or float32)");
  }
}

}  // namespace

void ScaledDotProductAttention::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  if (rope_) {
    // A folded rope: q = rope(x) now by the Rope's own kernel, then the attention unfused.
    const std::vector<Array> rope_in = rope_inputs(inputs);
    Array q(rope_in[0].shape(), rope_in[0].dtype(), nullptr, {});
    q.set_device(Device::cpu());
    rope_->eval_cpu(rope_in, q);
    std::vector<Array> unfused{q};
    unfused.insert(unfused.end(), inputs.begin() + k_index(), inputs.end());
    ScaledDotProductAttention(scale_, causal_, has_mask_).eval_cpu(unfused, out);
    return;
  }
  const Array& q = inputs[0];
  const Array& k = inputs[1];
  const Array& v = inputs[2];
  AttentionProblem pr;
  pr.batch = q.shape(0);
  pr.q_heads = q.shape(1);
  pr.q_len = q.shape(2);
  pr.qk_dim = q.shape(3);
  pr.kv_heads = k.shape(1);
  pr.kv_len = k.shape(2);
  pr.v_dim = v.shape(3);
  pr.scale = scale_;
  pr.causal = causal_;
  pr.q_strides = strides4(q);
  pr.k_strides = strides4(k);
  pr.v_strides = strides4(v);
  if (has_mask_) pr.mask_strides = strides4(inputs[3]);
  cpu::prepare_output_from(out, inputs, {0});
  if (out.size() == 0) return;
  switch (q.dtype()) {
    case Dtype::float32:
      dispatch_mask<float>(pr, inputs, has_mask_, out);
      break;
    case Dtype::float16:
      dispatch_mask<float16_t>(pr, inputs, has_mask_, out);
      break;
    case Dtype::bfloat16:
      dispatch_mask<bfloat16_t>(pr, inputs, has_mask_, out);
      break;
    default:
      throw Error(std::string("scaled_dot_product_attention: unsupported dtype ") +
                  dtype_name(q.dtype()));
  }
}

}  // namespace lamina::core
