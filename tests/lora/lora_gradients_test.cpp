// Gradients of every trainable parameter (LoRA, DoRA, full fine-tuning, QLoRA) against
// central finite differences of the loss, and gradient checkpointing giving the same
// gradients.
#include <gtest/gtest.h>

#include <cmath>

#include "libcore/ops/ops.h"
#include "libcore/optim/optimizer.h"
#include "lora/trainer.h"
#include "tests/lora/lora_test_util.h"

namespace lamina::test {
namespace {

using namespace lamina::core;

std::unique_ptr<optim::Optimizer> plain_sgd() { return std::make_unique<optim::Sgd>(optim::LrSchedule{}, optim::SgdOptions{}); }

// Checks d/dh loss(p + h d) at h = 0 against <grad, d> for a random direction d per parameter.
void check_directional_derivatives(models::Model& model, const std::vector<lora::TrainableParameter>& params,
                                   const std::vector<Array>& grads, const lora::Batch& batch) {
  const double h = 1e-3;
  for (size_t i = 0; i < params.size(); ++i) {
    Array original = *params[i].slot;
    Array d = random_array(original.shape(), 100 + static_cast<uint32_t>(i));
    double predicted = sum(grads[i] * d).item<double>();
    *params[i].slot = original + d * h;
    double up = lora::batch_loss(model, batch).item<double>();
    *params[i].slot = original - d * h;
    double down = lora::batch_loss(model, batch).item<double>();
    *params[i].slot = original;
    double numeric = (up - down) / (2 * h);
    EXPECT_NEAR(predicted, numeric, 2e-3 + 0.02 * std::abs(numeric)) << params[i].name;
  }
}

struct GradientCase {
  models::LoadedModel loaded;
  std::vector<lora::TrainableParameter> params;
  lora::Batch batch;
};

GradientCase make_setup(const std::string& type, int num_layers = -1) {
  GradientCase s{load_tiny_llama_f32(), {}, {}};
  auto tok = tokenizer::Tokenizer::load(testdata("models/tiny-llama"));
  lora::AdapterConfig c;
  c.fine_tune_type = type;
  c.num_layers = num_layers;
  c.rank = 4;
  c.scale = 2.0f;
  s.params = lora::attach_adapters(*s.loaded.model, c, 7);
  // B starts at zero; make it non-zero so that every gradient (A's too) is exercised.
  for (size_t i = 0; i < s.params.size(); ++i) {
    if (s.params[i].name.ends_with(".lora_b")) {
      *s.params[i].slot = random_array(s.params[i].slot->shape(), static_cast<uint32_t>(i), -0.2f, 0.2f);
    }
  }
  auto examples = reference_examples(tok);
  std::vector<const lora::Example*> rows{&examples[1], &examples[3]};
  s.batch = lora::make_batch(rows, 2048);
  return s;
}

TEST(LoraGradients, LoraMatchesFiniteDifferences) {
  GradientCase s = make_setup("lora");
  ASSERT_EQ(s.params.size(), 2u * 7 * 2);  // 7 Linear layers per block, 2 blocks, A and B
  lora::Trainer t(*s.loaded.model, s.params, plain_sgd(), {});
  auto [loss, grads] = t.loss_and_gradients(s.batch);
  EXPECT_TRUE(std::isfinite(loss));
  check_directional_derivatives(*s.loaded.model, s.params, grads, s.batch);
}

TEST(LoraGradients, DoraMatchesFiniteDifferencesWithFrozenNorm) {
  // mlx-lm's DoRA treats ||W + dW|| as a constant in the backward pass. The finite
  // difference of that function: perturb A or B and scale m by ||W + dW'|| / ||W + dW||, so
  // that m / ||W + dW'|| stays what it was.
  GradientCase s = make_setup("dora");
  ASSERT_EQ(s.params.size(), 2u * 7 * 3);
  lora::Trainer t(*s.loaded.model, s.params, plain_sgd(), {});
  auto [loss, grads] = t.loss_and_gradients(s.batch);
  EXPECT_TRUE(std::isfinite(loss));
  auto layers = s.loaded.model->linear_layers();
  const double h = 1e-3;
  for (size_t i = 0; i < s.params.size(); ++i) {
    const size_t layer = i / 3, m_index = layer * 3 + 2;
    const nn::Linear& linear = *layers[layer].second;
    auto dora = std::dynamic_pointer_cast<lora::DoraAdapter>(linear.adapter());
    ASSERT_TRUE(dora);
    auto norm = [&] { return sqrt(sum(square(linear.weight() + dora->delta_weight()), {1})); };
    Array original = *s.params[i].slot, m = *s.params[m_index].slot;
    Array norm0 = norm();
    Array d = random_array(original.shape(), 300 + static_cast<uint32_t>(i));
    double predicted = sum(grads[i] * d).item<double>();
    double values[2];
    for (int k = 0; k < 2; ++k) {
      *s.params[i].slot = original + d * (k == 0 ? h : -h);
      if (i != m_index) {
        Array scaled = m * norm() / norm0;
        scaled.eval();
        *s.params[m_index].slot = scaled;
      }
      values[k] = lora::batch_loss(*s.loaded.model, s.batch).item<double>();
      *s.params[i].slot = original;
      *s.params[m_index].slot = m;
    }
    double numeric = (values[0] - values[1]) / (2 * h);
    EXPECT_NEAR(predicted, numeric, 2e-3 + 0.02 * std::abs(numeric)) << s.params[i].name;
  }
}

TEST(LoraGradients, FullFineTuningMatchesFiniteDifferences) {
  GradientCase s = make_setup("full", 1);
  ASSERT_EQ(s.params.size(), 7u);  // the last block's Linear weights (no biases in Llama)
  lora::Trainer t(*s.loaded.model, s.params, plain_sgd(), {});
  auto [loss, grads] = t.loss_and_gradients(s.batch);
  check_directional_derivatives(*s.loaded.model, s.params, grads, s.batch);
}

TEST(LoraGradients, CheckpointingGivesTheSameGradients) {
  GradientCase s = make_setup("lora");
  lora::Trainer t(*s.loaded.model, s.params, plain_sgd(), {});
  auto [loss, grads] = t.loss_and_gradients(s.batch);
  s.loaded.model->set_grad_checkpoint(true);
  auto [loss2, grads2] = t.loss_and_gradients(s.batch);
  EXPECT_NEAR(loss, loss2, 1e-6 * loss);
  for (size_t i = 0; i < grads.size(); ++i) expect_arrays_close(grads2[i], grads[i], 1e-6, 1e-4);
}

TEST(LoraGradients, QuantizedBaseStaysQuantizedAndGradientsMatch) {
  // QLoRA on one layer: the base is MLX 4-bit; the adapter output and gradients must equal
  // those of the same adapter on the dequantized float weight.
  Array w = random_array({48, 64}, 1, -0.5f, 0.5f);
  QuantizedArrays q = quantize(w, 32, 4);
  nn::Linear quantized(nn::QuantizedWeight{q.weight, q.scales, q.biases, 32, 4});
  nn::Linear dense(quantized.dense_weight());
  Array a = random_array({64, 4}, 2, -0.1f, 0.1f), b = random_array({4, 48}, 3, -0.1f, 0.1f);
  Array x = random_array({2, 5, 64}, 4);
  for (bool dora : {false, true}) {
    auto make = [&](const nn::Linear& l) -> std::shared_ptr<nn::Adapter> {
      if (dora) return std::make_shared<lora::DoraAdapter>(a, b, lora::weight_row_norms(l) * 1.1, 2.0f);
      return std::make_shared<lora::LoraAdapter>(a, b, 2.0f);
    };
    quantized.set_adapter(make(quantized));
    dense.set_adapter(make(dense));
    EXPECT_TRUE(quantized.is_quantized());
    EXPECT_TRUE(quantized.trainable_parameters().size() == (dora ? 3u : 2u));
    auto loss_of = [&x](nn::Linear& l) {
      return [&x, &l](const std::vector<Array>& p) {
        auto slots = l.trainable_parameters();
        std::vector<Array> saved;
        for (size_t k = 0; k < slots.size(); ++k) {
          saved.push_back(*slots[k]);
          *slots[k] = p[k];
        }
        Array out = mean(square(l(x)));
        for (size_t k = 0; k < slots.size(); ++k) *slots[k] = saved[k];
        return out;
      };
    };
    std::vector<Array> primals;
    for (Array* p : quantized.trainable_parameters()) primals.push_back(*p);
    auto [lq, gq] = value_and_grad(loss_of(quantized), primals);
    auto [ld, gd] = value_and_grad(loss_of(dense), primals);
    EXPECT_NEAR(lq.item<double>(), ld.item<double>(), 1e-3 * std::abs(ld.item<double>()));
    for (size_t k = 0; k < gq.size(); ++k) expect_arrays_close(gq[k], gd[k], 1e-3, 1e-3);
    // And against finite differences of the same function written out here (for DoRA with
    // the row norm frozen at its value for the unperturbed parameters, as mlx-lm's backward).
    Array wq = quantized.dense_weight();
    Array norm0 = sqrt(sum(square(wq + matmul(transpose(b) * 2.0, transpose(a))), {1}));
    auto f = [&](const std::vector<Array>& p) {
      Array y = matmul(x, transpose(wq)) + matmul(matmul(x, p[0]), p[1]) * 2.0;
      if (dora) y = (p[2] / norm0) * y;
      return mean(square(y));
    };
    EXPECT_NEAR(f(primals).item<double>(), lq.item<double>(), 1e-4 * std::abs(lq.item<double>()));
    for (size_t k = 0; k < primals.size(); ++k) {
      Array d = random_array(primals[k].shape(), 50 + static_cast<uint32_t>(k));
      const double h = 1e-2;
      std::vector<Array> up = primals, down = primals;
      up[k] = primals[k] + d * h;
      down[k] = primals[k] - d * h;
      double numeric = (f(up).item<double>() - f(down).item<double>()) / (2 * h);
      double predicted = sum(gq[k] * d).item<double>();
      EXPECT_NEAR(predicted, numeric, 1e-3 + 0.01 * std::abs(numeric)) << "param " << k << (dora ? " dora" : " lora");
    }
  }
}

}  // namespace
}  // namespace lamina::test
