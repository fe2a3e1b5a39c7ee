// Optimizer update rules and learning-rate schedules against their published formulas
// (mlx.optimizers / PyTorch), evaluated in double precision here.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "libcore/ops/ops.h"
#include "libcore/optim/optimizer.h"
#include "tests/test_util.h"

namespace lamina::test {
namespace {

using namespace lamina::core;

// Runs `steps` updates of f(p) = sum(c * p^2) / 2 (gradient c * p) from p0 and returns p.
std::vector<float> run(optim::Optimizer& opt, const std::vector<float>& p0, const std::vector<float>& c, int steps) {
  std::vector<Array> params{Array(p0, {static_cast<int64_t>(p0.size())})};
  Array coeff(c, {static_cast<int64_t>(c.size())});
  for (int i = 0; i < steps; ++i) {
    std::vector<Array> grads{params[0] * coeff};
    opt.update(params, grads);
    eval(params);
  }
  return params[0].to_vector<float>();
}

struct Reference {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  bool bias_correction = false, decoupled = false;
};

std::vector<double> adam_reference(const Reference& r, std::vector<double> p, const std::vector<float>& c, double lr,
                                   int steps) {
  std::vector<double> m(p.size(), 0), v(p.size(), 0);
  for (int t = 1; t <= steps; ++t) {
    for (size_t i = 0; i < p.size(); ++i) {
      double g = c[i] * p[i];
      if (r.decoupled) p[i] *= 1 - lr * r.weight_decay;
      m[i] = r.beta1 * m[i] + (1 - r.beta1) * g;
      v[i] = r.beta2 * v[i] + (1 - r.beta2) * g * g;
      double mh = m[i], vh = v[i];
      if (r.bias_correction) {
        mh /= 1 - std::pow(r.beta1, t);
        vh /= 1 - std::pow(r.beta2, t);
      }
      p[i] -= lr * mh / (std::sqrt(vh) + r.eps);
    }
  }
  return p;
}

const std::vector<float> kStart{1.0f, -2.0f, 0.5f, 3.0f};
const std::vector<float> kCurvature{1.0f, 0.5f, 4.0f, 0.1f};

void expect_near_all(const std::vector<float>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 2e-5 * std::max(1.0, std::abs(want[i]))) << i;
}

TEST(Optimizer, AdamWithAndWithoutBiasCorrection) {
  for (bool bc : {false, true}) {
    optim::LrSchedule s;
    s.initial = 0.05;
    optim::AdamOptions o;
    o.bias_correction = bc;
    optim::Adam adam(s, o);
    Reference r;
    r.bias_correction = bc;
    expect_near_all(run(adam, kStart, kCurvature, 7),
                    adam_reference(r, {kStart.begin(), kStart.end()}, kCurvature, 0.05, 7));
    EXPECT_EQ(adam.step(), 7);
  }
}

TEST(Optimizer, AdamWDecouplesWeightDecay) {
  optim::LrSchedule s;
  s.initial = 0.05;
  optim::AdamOptions o;
  o.weight_decay = 0.1;
  optim::Adam adamw(s, o, true);
  Reference r;
  r.decoupled = true;
  r.weight_decay = 0.1;
  expect_near_all(run(adamw, kStart, kCurvature, 5), adam_reference(r, {kStart.begin(), kStart.end()}, kCurvature, 0.05, 5));
}

TEST(Optimizer, SgdWithMomentumAndWeightDecay) {
  optim::LrSchedule s;
  s.initial = 0.1;
  optim::SgdOptions o;
  o.momentum = 0.9;
  o.weight_decay = 0.01;
  optim::Sgd sgd(s, o);
  std::vector<double> p(kStart.begin(), kStart.end()), v(p.size(), 0);
  for (int t = 0; t < 6; ++t) {
    for (size_t i = 0; i < p.size(); ++i) {
      double g = kCurvature[i] * p[i] + 0.01 * p[i];
      v[i] = 0.9 * v[i] + g;
      p[i] -= 0.1 * v[i];
    }
  }
  expect_near_all(run(sgd, kStart, kCurvature, 6), p);
}

TEST(Optimizer, StateRoundTripContinuesIdentically) {
  optim::LrSchedule s;
  s.initial = 0.05;
  optim::Adam a(s, {}), b(s, {});
  std::vector<Array> pa{Array(kStart, {4})};
  Array coeff(kCurvature, {4});
  for (int i = 0; i < 3; ++i) {
    std::vector<Array> g{pa[0] * coeff};
    a.update(pa, g);
    eval(pa);
  }
  std::vector<Array> pb{pa[0]};
  b.load_state(pb, a.state_arrays(), a.step());
  for (int i = 0; i < 3; ++i) {
    std::vector<Array> ga{pa[0] * coeff}, gb{pb[0] * coeff};
    a.update(pa, ga);
    b.update(pb, gb);
  }
  EXPECT_EQ(pa[0].to_vector<float>(), pb[0].to_vector<float>());
  EXPECT_THROW(b.load_state(pb, {}, 0), Error);
}

TEST(LrSchedule, CosineLinearConstantAndWarmup) {
  optim::LrSchedule c;
  c.name = "cosine";
  c.initial = 1e-3;
  c.decay_steps = 100;
  c.end = 1e-5;
  EXPECT_DOUBLE_EQ(c(0), 1e-3);
  EXPECT_NEAR(c(50), 1e-5 + 0.5 * (1 + std::cos(std::numbers::pi * 0.5)) * (1e-3 - 1e-5), 1e-15);
  EXPECT_NEAR(c(100), 1e-5, 1e-15);
  EXPECT_NEAR(c(500), 1e-5, 1e-15);
  optim::LrSchedule l;
  l.name = "linear";
  l.initial = 1.0;
  l.end = 0.0;
  l.decay_steps = 10;
  EXPECT_DOUBLE_EQ(l(3), 0.7);
  EXPECT_DOUBLE_EQ(l(20), 0.0);
  // mlx_lm: warmup linear from warmup_init to initial over `warmup` steps, then the decay
  // from step warmup + 1 on.
  optim::LrSchedule w = c;
  w.warmup = 10;
  w.warmup_init = 0.0;
  EXPECT_DOUBLE_EQ(w(0), 0.0);
  EXPECT_NEAR(w(5), 5e-4, 1e-15);
  EXPECT_NEAR(w(10), 1e-3, 1e-15);
  EXPECT_NEAR(w(11), 1e-3, 1e-15);
  EXPECT_NEAR(w(61), c(50), 1e-15);
  optim::LrSchedule k;
  k.initial = 3e-4;
  EXPECT_DOUBLE_EQ(k(12345), 3e-4);
  optim::LrSchedule bad;
  bad.name = "step";
  EXPECT_THROW(optim::validate(bad), Error);
}

}  // namespace
}  // namespace lamina::test
