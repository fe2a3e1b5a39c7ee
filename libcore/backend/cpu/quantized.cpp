// CPU evaluation of the affine quantization primitives. Rows split over the thread pool.
// QuantizedMatmul: up to kDirectRows input rows use the direct kernel (each weight
// unpacked once, no float copy of W); more rows dequantize panels of W rows into an
// L2-sized float32 scratch and multiply them on the calling thread (cpu::float_gemm:
// OpenBLAS or the packed AVX-512 GEMM), panels split over the pool. The untransposed
// product (the vjp) dequantizes blocks of W rows and multiplies them with float_gemm. With int8 activations (QuantizedActivations::int8) the
// transposed product quantizes x to int8 once (rows split over the pool) and runs the
// integer dot-product kernels (kernels/cpu/quantized_int8.h) for every row count, when this
// CPU has a path for the bit width; else it falls back to the float32 paths. From
// kInt8GemmMinRows rows on (prefill) that is the register-blocked GEMM, split over the pool
// by strips of output columns: [512 x 2048] x [5632 x 2048]^T, 4-bit, 2 threads, ran ~3x
// faster than the per-row-tile matvec kernel (quantized_bench BM_QuantizedPrefill).
// A folded rms_norm normalises x first, an addend is added to the float32 product; a gated
// product computes its two halves and then swiglu (eval_gated_now).
#include <cblas.h>

#include <algorithm>
#include <vector>

#include "kernels/cpu/half_matmul.h"
#include "kernels/cpu/quantized_int8.h"
#include "kernels/cpu/quantized_matmul.h"
#include "kernels/cpu/quantized_pack.h"
#include "libcore/backend/cpu/fast_rows.h"
#include "libcore/backend/cpu/float_gemm.h"
#include "libcore/backend/cpu/thread_pool.h"
#include "libcore/ops/matmul_primitive.h"
#include "quant/quantized_primitives.h"

namespace lamina::core {

namespace {

constexpr int64_t kDirectRows = 8;
constexpr int64_t kPanelBytes = 4 << 20;
constexpr int64_t kMinChunkWork = 1 << 15;

kernels::QuantScaleType scale_type_of(Dtype dtype) {
  switch (dtype) {
    case Dtype::float16: return kernels::QuantScaleType::float16;
    case Dtype::bfloat16: return kernels::QuantScaleType::bfloat16;
    case Dtype::float32: return kernels::QuantScaleType::float32;
    default: throw Error(std::string("quantized: scales of dtype ") + dtype_name(dtype) + " are not supported");
  }
}

// a itself when row-major, else a row-major copy.
Array row_major(const Array& a) {
  if (a.is_row_contiguous()) return a;
  Array c = Array::from_buffer(allocator::malloc(std::max<size_t>(a.nbytes(), 1)), 0, a.shape(),
                               row_major_strides(a.shape()), a.dtype());
  cpu::copy_convert(a, c);
  return c;
}

kernels::QuantizedMatrixView view_of(const Array& wq, const Array& scales, const Array& biases,
                                     int group_size, int bits) {
  kernels::QuantizedMatrixView v;
  v.weight = wq.data<uint32_t>();
  v.scales = scales.raw_data();
  v.biases = biases.raw_data();
  v.scale_type = scale_type_of(scales.dtype());
  v.cols = wq.shape().back() * 32 / bits;
  v.rows = wq.size() / std::max<int64_t>(wq.shape().back(), 1);
  v.group_size = group_size;
  v.bits = bits;
  return v;
}

// Row r of w as float32: a pointer into w itself for a contiguous float32 row, else the row
// converted into `scratch` (float16/bfloat16 runs through the vector converters).
const float* row_floats(const Array& w, const cpu::RowLayout& layout, int64_t r, float* scratch) {
  const int64_t K = layout.length();
  if (layout.stride() == 1 || K == 1) {
    const int64_t off = layout.offset(r);
    if (w.dtype() == Dtype::float32) return w.data<float>() + off;
    if (w.dtype() == Dtype::float16 || w.dtype() == Dtype::bfloat16) {
      kernels::half_to_float(w.dtype() == Dtype::float16 ? kernels::HalfType::float16 : kernels::HalfType::bfloat16,
                             w.data<uint16_t>() + off, scratch, K);
      return scratch;
    }
  }
  cpu::load_row(w, layout, r, scratch);
  return scratch;
}

// All rows of a as float32, row-major.
std::vector<float> rows_as_float(const Array& a) { return cpu::load_all(a); }

void set_blas_threads(int n) {
  if (openblas_get_num_threads() != n) openblas_set_num_threads(n);
}

// out[M, N] = x[M, K] @ W^T with x quantized to int8, W [N, K] quantized along K.
void matmul_transposed_int8(const kernels::QuantizedMatrixView& w, const float* x, int64_t M,
                            float* out, kernels::Int8Isa isa) {
  const int64_t N = w.rows, K = w.cols;
  kernels::QuantizedInt8Input in = kernels::allocate_quantized_int8_input(M, K, w.group_size, w.bits, isa);
  cpu::parallel_for(M, std::max<int64_t>(1, kMinChunkWork / std::max<int64_t>(K, 1)),
                    [&](int64_t b, int64_t e) { kernels::quantize_int8_rows(x, K, b, e, in); });
  if (in.gemm) {
    // Whole strips per task, so that every weight strip is unpacked once.
    const int64_t strip = kernels::kGemmStripColumns, strips = (N + strip - 1) / strip;
    cpu::parallel_for(strips, 1, [&](int64_t b, int64_t e) {
      kernels::quantized_matvec_int8(w, in, b * strip, std::min(N, e * strip), out, N);
    });
    return;
  }
  const int64_t grain = std::max<int64_t>(1, kMinChunkWork / std::max<int64_t>(K * M, 1));
  cpu::parallel_for(N, grain, [&](int64_t b, int64_t e) {
    kernels::quantized_matvec_int8(w, in, b, e, out, N);
  });
}

// out[M, N] = x[M, K] @ W^T, W [N, K] quantized along K.
void matmul_transposed(const kernels::QuantizedMatrixView& w, const float* x, int64_t M, float* out,
                       QuantizedActivations activations) {
  const int64_t N = w.rows, K = w.cols;
  if (activations == QuantizedActivations::int8) {
    const auto int8_isa = kernels::best_int8_isa();
    if (kernels::int8_path_supported(w.bits, int8_isa)) {
      matmul_transposed_int8(w, x, M, out, int8_isa);
      return;
    }
  }
  const auto isa = kernels::best_quant_isa();
  if (M <= kDirectRows) {
    kernels::QuantizedInput in = kernels::prepare_quantized_input(x, K, M, K, w.group_size, w.bits, isa);
    const int64_t grain = std::max<int64_t>(1, kMinChunkWork / std::max<int64_t>(K * M, 1));
    cpu::parallel_for(N, grain, [&](int64_t b, int64_t e) {
      kernels::quantized_matvec(w, in, b, e, out, N, isa);
    });
    return;
  }
  const int64_t panel = std::clamp<int64_t>(kPanelBytes / (K * 4), 16, std::max<int64_t>(N, 16));
  const int64_t panels = (N + panel - 1) / panel;
  set_blas_threads(1);
  cpu::parallel_for(panels, 1, [&](int64_t pb, int64_t pe) {
    std::vector<float> scratch(static_cast<size_t>(panel * K));
    for (int64_t p = pb; p < pe; ++p) {
      const int64_t n0 = p * panel, n1 = std::min(N, n0 + panel);
      kernels::quantized_dequantize_rows(w, n0, n1, scratch.data(), K, isa);
      cpu::float_gemm(x, K, scratch.data(), K, true, M, n1 - n0, K, out + n0, N, false);
    }
  });
}

// out[M, N] = x[M, K] @ W, W [K, N] quantized along N.
void matmul_plain(const kernels::QuantizedMatrixView& w, const float* x, int64_t M, float* out) {
  const int64_t K = w.rows, N = w.cols;
  const auto isa = kernels::best_quant_isa();
  const int64_t block = std::clamp<int64_t>(kPanelBytes / (N * 4), 16, std::max<int64_t>(K, 16));
  std::vector<float> scratch(static_cast<size_t>(block * N));
  // Each block of K gives a partial product, added into out.
  std::vector<float> partial(K > block ? static_cast<size_t>(M * N) : 0);
  for (int64_t k0 = 0; k0 < K; k0 += block) {
    const int64_t k1 = std::min(K, k0 + block);
    cpu::parallel_for(k1 - k0, 4, [&](int64_t b, int64_t e) {
      kernels::quantized_dequantize_rows(w, k0 + b, k0 + e, scratch.data() + b * N, N, isa);
    });
    float* dst = k0 == 0 ? out : partial.data();
    cpu::float_gemm(x + k0, K, scratch.data(), N, false, M, N, k1 - k0, dst, N, true);
    if (k0 > 0) {
      cpu::parallel_for(M, std::max<int64_t>(1, kMinChunkWork / std::max<int64_t>(N, 1)), [&](int64_t b, int64_t e) {
        for (int64_t i = b * N; i < e * N; ++i) out[i] += partial[static_cast<size_t>(i)];
      });
    }
  }
}

}  // namespace

void AffineQuantParams::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  const Array& w = inputs[0];
  out.allocate();
  if (w.size() == 0) return;
  const int64_t K = w.shape().back(), rows = w.size() / K, groups = K / group_size_;
  cpu::RowLayout layout(w);
  float* params = out.data<float>();
  const int gs = group_size_, bits = bits_;
  const bool vector = kernels::best_isa() != kernels::Isa::scalar;
  cpu::parallel_for(rows, std::max<int64_t>(1, kMinChunkWork / K), [&](int64_t b, int64_t e) {
    std::vector<float> row(static_cast<size_t>(K));
    for (int64_t r = b; r < e; ++r) {
      const float* x = row_floats(w, layout, r, row.data());
      kernels::affine_row_params(x, K, gs, bits, params + 2 * r * groups, vector);
    }
  });
}

void AffinePack::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  const Array& w = inputs[0];
  const Array params = row_major(inputs[1]);
  out.allocate();
  if (w.size() == 0) return;
  const int64_t K = w.shape().back(), rows = w.size() / K, groups = K / group_size_;
  const int64_t words = K * bits_ / 32;
  cpu::RowLayout layout(w);
  const float* p = params.data<float>();
  uint32_t* packed = out.data<uint32_t>();
  const int gs = group_size_, bits = bits_;
  const bool vector = kernels::best_isa() != kernels::Isa::scalar;
  cpu::parallel_for(rows, std::max<int64_t>(1, kMinChunkWork / K), [&](int64_t b, int64_t e) {
    std::vector<float> row(static_cast<size_t>(K));
    for (int64_t r = b; r < e; ++r) {
      const float* x = row_floats(w, layout, r, row.data());
      kernels::affine_pack_row_fast(x, K, gs, bits, p + 2 * r * groups, packed + r * words, vector);
    }
  });
}

void AffineDequantize::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  const Array wq = row_major(inputs[0]), scales = row_major(inputs[1]), biases = row_major(inputs[2]);
  out.allocate();
  if (out.size() == 0) return;
  const auto v = view_of(wq, scales, biases, group_size_, bits_);
  const int64_t K = v.cols, groups = K / group_size_, words = K * bits_ / 32;
  const int item = out.itemsize(), scale_item = scales.itemsize();
  char* dst = static_cast<char*>(out.raw_data());
  const char* s = static_cast<const char*>(v.scales);
  const char* bi = static_cast<const char*>(v.biases);
  const int gs = group_size_, bits = bits_;
  cpu::parallel_for(v.rows, std::max<int64_t>(1, kMinChunkWork / K), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      kernels::affine_dequantize_row(v.weight + r * words, s + r * groups * scale_item,
                                     bi + r * groups * scale_item, v.scale_type, K, gs, bits,
                                     dst + r * K * item);
    }
  });
}

void QuantizedMatmul::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  if (gated_) return eval_gated_now(gated_halves(*this, inputs), Device::cpu(), out);
  const Array wq = row_major(inputs[1]), scales = row_major(inputs[2]), biases = row_major(inputs[3]);
  const auto w = view_of(wq, scales, biases, group_size_, bits_);
  // A folded norm: the normalised rows first (RmsNorm's kernel, rounded to x's dtype).
  const Array x = norm_eps_ ? rms_norm_now(inputs[0], inputs[4], *norm_eps_, Device::cpu()) : inputs[0];
  const int64_t K = x.shape().back(), N = out.shape().back();
  const int64_t M = K > 0 ? x.size() / K : 0;
  out.allocate();
  if (out.size() == 0) return;
  std::vector<float> xf = rows_as_float(x);
  std::vector<float> scratch;
  float* y = out.dtype() == Dtype::float32 ? out.data<float>() : nullptr;
  if (!y) {
    scratch.resize(static_cast<size_t>(M * N));
    y = scratch.data();
  }
  if (K == 0) {
    std::fill(y, y + M * N, 0.0f);
  } else if (transpose_) {
    matmul_transposed(w, xf.data(), M, y, activations_);
  } else {
    matmul_plain(w, xf.data(), M, y);
  }
  if (addend_) cpu::add_all(inputs.back(), y);  // in float32, rounded once below
  if (y != static_cast<void*>(out.raw_data())) {
    dispatch_dtype(out.dtype(), [&](auto t) {
      using T = decltype(t);
      kernels::store_float(y, M * N, out.data<T>());
    });
  }
}

}  // namespace lamina::core
