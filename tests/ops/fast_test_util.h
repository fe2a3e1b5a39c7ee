// Helpers for the op tests: central finite-difference checks of vjps and small
// conversions. Header-only so that each test binary can include it.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "libcore/ops/ops.h"
#include "tests/test_util.h"

namespace lamina::test {

// Returns a float32 array holding `values` with one element moved by delta.
inline core::Array nudged(const std::vector<float>& values, const core::Shape& shape, size_t at,
                          float delta) {
  std::vector<float> v = values;
  v[at] += delta;
  return core::Array(v, shape);
}

// Checks the vjp of fun (one output) w.r.t. the float32 primals listed in `args` against
// central differences of sum(fun(primals) * cotangent) for a random cotangent. Tolerance:
// |analytic - numeric| <= atol + rtol * |numeric|.
inline void expect_vjp_matches_finite_differences(
    const std::function<core::Array(const std::vector<core::Array>&)>& fun,
    const std::vector<core::Array>& primals, const std::vector<int>& args, float step = 2e-3f,
    double atol = 2e-3, double rtol = 2e-2, uint32_t seed = 7) {
  using core::Array;
  Array out = fun(primals);
  Array cotangent = random_array(out.shape(), seed);
  const std::vector<double> cot = cotangent.to_vector<double>();
  auto objective = [&](const std::vector<Array>& p) {
    std::vector<double> y = fun(p).to_vector<double>();
    double s = 0;
    for (size_t i = 0; i < y.size(); ++i) s += y[i] * cot[i];
    return s;
  };
  auto [outs, grads] =
      core::vjp([&](const std::vector<Array>& p) { return std::vector<Array>{fun(p)}; }, primals,
                {cotangent});
  for (int a : args) {
    SCOPED_TRACE("argument " + std::to_string(a));
    ASSERT_EQ(grads[a].shape(), primals[a].shape());
    const std::vector<double> analytic = grads[a].to_vector<double>();
    const std::vector<float> values = primals[a].to_vector<float>();
    for (size_t e = 0; e < values.size(); ++e) {
      std::vector<Array> plus = primals, minus = primals;
      plus[a] = nudged(values, primals[a].shape(), e, step);
      minus[a] = nudged(values, primals[a].shape(), e, -step);
      const double numeric = (objective(plus) - objective(minus)) / (2.0 * step);
      EXPECT_NEAR(analytic[e], numeric, atol + rtol * std::abs(numeric)) << "at element " << e;
    }
  }
}

// The gradient of sum(f(x) * w) for a random w against central differences at x0 (step
// 1e-3; |analytic - numeric| <= tol * (1 + |numeric|)).
inline void expect_grad_matches_finite_differences(const std::function<core::Array(const core::Array&)>& f,
                                                   const core::Array& x0, double tol = 2e-3) {
  expect_vjp_matches_finite_differences([&](const std::vector<core::Array>& p) { return f(p[0]); }, {x0}, {0},
                                        1e-3f, tol, tol);
}

// Returns a's elements (any dtype) as float, row-major.
inline std::vector<float> values_of(const core::Array& a) { return a.to_vector<float>(); }

}  // namespace lamina::test
