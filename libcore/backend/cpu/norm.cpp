// CPU evaluation of RmsNorm, LayerNorm and their input gradients: rows are loaded into
// float32 scratch, normalised by the kernels in kernels/cpu/norm.h and stored back in the
// output dtype, with rows split over the thread pool.
#include "kernels/cpu/norm.h"

#include <vector>

#include "libcore/backend/cpu/fast_rows.h"
#include "libcore/ops/fast_primitives.h"

namespace lamina::core {

namespace {

// An optional [n] parameter as float32 (empty when absent).
std::vector<float> load_param(const std::vector<Array>& inputs, bool present, size_t index) {
  return present ? cpu::load_all(inputs[index]) : std::vector<float>{};
}

const float* data_or_null(const std::vector<float>& v) { return v.empty() ? nullptr : v.data(); }

}  // namespace

void RmsNorm::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  std::vector<float> weight = load_param(inputs, has_weight_, 1);
  const float* w = data_or_null(weight);
  const float eps = eps_;
  if (!has_residual_) {
    cpu::map_rows(inputs, {0}, out, [&](const float* x, float* y, int64_t n, int64_t) {
      kernels::rms_norm_row(x, w, y, n, eps);
    });
    return;
  }
  const Dtype dtype = out.dtype();
  cpu::map_rows(inputs, {0, static_cast<int>(inputs.size()) - 1}, out,
                [&](float* rows, float* y, int64_t n, int64_t) {
                  for (int64_t j = 0; j < n; ++j) rows[j] += rows[n + j];
                  cpu::round_to_dtype(dtype, rows, n);
                  kernels::rms_norm_row(rows, w, y, n, eps);
                });
}

void RmsNormGrad::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  std::vector<float> weight = load_param(inputs, has_weight_, 1);
  const float* w = data_or_null(weight);
  const float eps = eps_;
  cpu::map_rows(inputs, {0, static_cast<int>(inputs.size()) - 1}, out,
                [&](float* rows, float* dx, int64_t n, int64_t) {
                  kernels::rms_norm_grad_row(rows, w, rows + n, dx, n, eps);
                });
}

void LayerNorm::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  std::vector<float> weight = load_param(inputs, has_weight_, 1);
  std::vector<float> bias = load_param(inputs, has_bias_, has_weight_ ? 2 : 1);
  const float* w = data_or_null(weight);
  const float* b = data_or_null(bias);
  const float eps = eps_;
  cpu::map_rows(inputs, {0}, out, [&](const float* x, float* y, int64_t n, int64_t) {
    kernels::layer_norm_row(x, w, b, y, n, eps);
  });
}

void LayerNormGrad::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  std::vector<float> weight = load_param(inputs, has_weight_, 1);
  const float* w = data_or_null(weight);
  const float eps = eps_;
  cpu::map_rows(inputs, {0, static_cast<int>(inputs.size()) - 1}, out,
                [&](float* rows, float* dx, int64_t n, int64_t) {
                  kernels::layer_norm_grad_row(rows, w, rows + n, dx, n, eps);
                });
}

}  // namespace lamina::core
