// CPU evaluation of Rope: a cos/sin table per (offset entry, position) is built once, then
// every row of x ([..., T, D]) is rotated with the table row of its position.
#include "kernels/cpu/rope.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "libcore/backend/cpu/fast_rows.h"
#include "libcore/backend/cpu/thread_pool.h"
#include "libcore/ops/fast_primitives.h"

namespace lamina::core {

void Rope::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  const Array& x = inputs[0];
  const Params& p = params_;
  if (x.size() == 0) {
    out.allocate();
    return;
  }
  const int64_t half = p.dims / 2;

  std::vector<float> inv_freq(static_cast<size_t>(half));
  if (p.has_freqs) {
    std::vector<float> freqs = cpu::load_all(inputs[1]);
    for (int64_t i = 0; i < half; ++i) inv_freq[i] = 1.0f / freqs[i];
  } else {
    for (int64_t i = 0; i < half; ++i) {
      inv_freq[i] = static_cast<float>(
          std::pow(static_cast<double>(p.base), -2.0 * static_cast<double>(i) / p.dims));
    }
  }

  std::vector<int64_t> offsets{p.offset};
  if (p.has_offset_array) {
    const Array& off = inputs[p.has_freqs ? 2 : 1];
    offsets.assign(static_cast<size_t>(off.size()), 0);
    for (int64_t i = 0; i < off.size(); ++i) {
      offsets[i] = static_cast<int64_t>(element_as_double(off, i));
    }
  }

  const int64_t seq = x.ndim() >= 2 ? x.shape(-2) : 1;
  const int64_t n_offsets = static_cast<int64_t>(offsets.size());
  // Table rows: (offset entry e, position t) at e * seq + t.
  std::vector<float> cos_t(static_cast<size_t>(n_offsets * seq * half));
  std::vector<float> sin_t(cos_t.size());
  cpu::parallel_for(n_offsets * seq, std::max<int64_t>(1, 4096 / std::max<int64_t>(half, 1)),
                    [&](int64_t begin, int64_t end) {
                      for (int64_t r = begin; r < end; ++r) {
                        kernels::rope_angles(offsets[r / seq] + r % seq, p.scale, inv_freq.data(),
                                             half, cos_t.data() + r * half,
                                             sin_t.data() + r * half);
                      }
                    });

  // Rows of x per leading (batch) index, for per-batch offsets.
  const int64_t d = x.shape(-1);
  const int64_t rows_per_batch = n_offsets > 1 ? x.size() / (x.shape(0) * d) : 1;
  cpu::map_rows(inputs, {0}, out, [&](const float* row, float* y, int64_t n, int64_t r) {
    const int64_t e = n_offsets > 1 ? r / rows_per_batch : 0;
    const int64_t table_row = e * seq + r % seq;
    kernels::rope_row(row, cos_t.data() + table_row * half, sin_t.data() + table_row * half, y, n,
                      p.dims, p.traditional, p.inverse);
  });
}

}  // namespace lamina::core
