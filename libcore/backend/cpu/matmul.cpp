// CPU evaluation of Matmul. float32 runs on OpenBLAS: transposed contiguous operands go in
// as CblasTrans, batches are offsets into the inputs (a broadcast batch dim is stride 0,
// never copied), a shared right operand folds the batch into the rows of one GEMM, and
// matrix-vector shapes use sgemv; OpenBLAS's threads follow lamina's pool size, and drop
// to 1 where the pool itself runs BLAS calls side by side; where OpenBLAS runs without the
// CPU's AVX-512 (it does not know every CPU), products with many rows use lamina's packed
// GEMM instead. float16/bfloat16 never make a float32 copy of a whole operand: up to 16
// rows use the direct kernel (weight converted on the fly), more rows the packed GEMM
// (AVX-512) or panels of weight columns converted into an L2-sized float32 scratch for
// single-threaded sgemm, split over the pool. Integers (and bool) use plain loops. A
// folded rms_norm normalises a first, an addend is added after the product; a gated product
// computes its two halves and then swiglu (eval_gated_now).
#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <climits>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/cpu/packed_gemm.h"
#include "kernels/cpu/half_matmul.h"
#include "libcore/backend/cpu/cpu_util.h"
#include "libcore/backend/cpu/fast_rows.h"
#include "libcore/backend/cpu/float_gemm.h"
#include "libcore/backend/cpu/thread_pool.h"
#include "libcore/ops/matmul_primitive.h"

namespace lamina::core {

namespace {

using kernels::HalfType;

// OpenBLAS runs a GEMM of at most this many multiply-adds (m * n * k) on the calling
// thread (SMP_THRESHOLD_MIN * GEMM_MULTITHREAD_THRESHOLD in its interface/gemm.c).
constexpr double kBlasSerialWork = 65536.0 * 4;
// Up to this many rows (or columns), float16/bfloat16 products use the direct kernel.
constexpr int64_t kHalfDirectMaxRows = 16;
// Size of the float32 scratch a panel of weight columns is converted into (~L2).
constexpr int64_t kHalfPanelBytes = 1 << 20;
// Size of the float32 scratch a block of left-operand rows is converted into.
constexpr int64_t kHalfRowBlockBytes = 16 << 20;
// Multiply-adds below which a parallel chunk is not worth a thread.
constexpr int64_t kMinChunkWork = 1 << 16;

// A matrix operand: element (i, j) is at data[i * rs + j * cs] (in elements).
struct Mat {
  int64_t rows, cols, rs, cs;
  Mat transposed() const { return {cols, rows, cs, rs}; }
};

// How BLAS can read a matrix: row-major (trans = false) or as the transpose of a
// row-major matrix (trans = true), with its leading dimension; ok = false when neither.
struct BlasView {
  bool ok = false;
  bool trans = false;
  int64_t ld = 0;
};

BlasView blas_view(const Mat& m) {
  if ((m.cs == 1 || m.cols == 1) && (m.rows == 1 || m.rs >= std::max<int64_t>(m.cols, 1))) {
    return {true, false, m.rows == 1 ? std::max<int64_t>(m.cols, 1) : m.rs};
  }
  if ((m.rs == 1 || m.rows == 1) && (m.cols == 1 || m.cs >= std::max<int64_t>(m.rows, 1))) {
    return {true, true, m.cols == 1 ? std::max<int64_t>(m.rows, 1) : m.cs};
  }
  return {};
}

Mat matrix_of(const Array& x) {
  const int nd = x.ndim();
  return {x.shape()[nd - 2], x.shape()[nd - 1], x.strides()[nd - 2], x.strides()[nd - 1]};
}

// Element offset of each batch's matrix in x, for the (broadcast) output batch shape.
std::vector<int64_t> batch_offsets(const Array& x, const Shape& batch) {
  const int nb = static_cast<int>(batch.size());
  const int lead = nb - (x.ndim() - 2);
  Strides st(nb, 0);
  for (int i = 0; i < x.ndim() - 2; ++i) {
    if (x.shape()[i] != 1) st[lead + i] = x.strides()[i];
  }
  const int64_t count = shape_size(batch);
  std::vector<int64_t> off(count);
  std::vector<int64_t> index(nb, 0);
  int64_t o = 0;
  for (int64_t c = 0; c < count; ++c) {
    off[c] = o;
    for (int d = nb - 1; d >= 0; --d) {
      o += st[d];
      if (++index[d] < batch[d]) break;
      o -= st[d] * batch[d];
      index[d] = 0;
    }
  }
  return off;
}

Array row_major_copy(const Array& x) {
  Array c = Array::from_buffer(allocator::malloc(std::max<size_t>(x.nbytes(), 1)), 0, x.shape(),
                               row_major_strides(x.shape()), x.dtype());
  cpu::copy_convert(x, c);
  return c;
}

template <typename T>
std::unique_ptr<T[]> scratch(int64_t n) {
  return std::make_unique_for_overwrite<T[]>(static_cast<size_t>(std::max<int64_t>(n, 1)));
}

// Runs fn over [0, n) on the pool, or on this thread when already inside a parallel region.
template <typename Fn>
void run(bool parallel, int64_t n, int64_t grain, Fn&& fn) {
  if (parallel) cpu::parallel_for(n, std::max<int64_t>(grain, 1), fn);
  else if (n > 0) fn(0, n);
}

// OpenBLAS's own thread count follows lamina's pool, so the two together never run more
// threads than the pool has; it drops to 1 while the pool runs BLAS calls side by side.
void set_blas_threads(int n) {
  if (openblas_get_num_threads() != n) openblas_set_num_threads(n);
}
struct SerialBlas {
  SerialBlas() { set_blas_threads(1); }
  ~SerialBlas() { set_blas_threads(cpu::num_threads()); }
  SerialBlas(const SerialBlas&) = delete;
  SerialBlas& operator=(const SerialBlas&) = delete;
};

int blas_int(int64_t v) { return static_cast<int>(v); }

// ---- float32 ----

// C[M, N] (row stride ldc) = A @ B for one matrix pair whose layouts blas_view accepts.
void sgemm_matrix(const float* A, const Mat& a, const float* B, const Mat& b, float* C,
                  int64_t ldc) {
  const int64_t M = a.rows, K = a.cols, N = b.cols;
  const BlasView va = blas_view(a), vb = blas_view(b);
  if (M == 1) {  // row vector @ matrix
    const int64_t incx = K == 1 ? 1 : a.cs;
    if (vb.trans) {
      cblas_sgemv(CblasRowMajor, CblasNoTrans, blas_int(N), blas_int(K), 1.0f, B,
                  blas_int(vb.ld), A, blas_int(incx), 0.0f, C, 1);
    } else {
      cblas_sgemv(CblasRowMajor, CblasTrans, blas_int(K), blas_int(N), 1.0f, B, blas_int(vb.ld),
                  A, blas_int(incx), 0.0f, C, 1);
    }
    return;
  }
  if (N == 1) {  // matrix @ column vector
    const int64_t incx = K == 1 ? 1 : b.rs;
    if (va.trans) {
      cblas_sgemv(CblasRowMajor, CblasTrans, blas_int(K), blas_int(M), 1.0f, A, blas_int(va.ld),
                  B, blas_int(incx), 0.0f, C, blas_int(ldc));
    } else {
      cblas_sgemv(CblasRowMajor, CblasNoTrans, blas_int(M), blas_int(K), 1.0f, A,
                  blas_int(va.ld), B, blas_int(incx), 0.0f, C, blas_int(ldc));
    }
    return;
  }
  cblas_sgemm(CblasRowMajor, va.trans ? CblasTrans : CblasNoTrans,
              vb.trans ? CblasTrans : CblasNoTrans, blas_int(M), blas_int(N), blas_int(K), 1.0f,
              A, blas_int(va.ld), B, blas_int(vb.ld), 0.0f, C, blas_int(ldc));
}

// OpenBLAS 0.3.21 does not know recent Xeons (this machine's model 207) and falls back to
// its SSE3 "Prescott" kernels: measured 35-48 GFLOP/s at 512-2048^3 on 2 threads, against
// 190-230 with OPENBLAS_CORETYPE=SkylakeX. Where the CPU has AVX-512 but OpenBLAS runs a
// core without it, products with many rows go through the packed GEMM instead (sgemv and
// small products stay on OpenBLAS).
bool blas_lacks_avx512() {
  static const bool lacks = [] {
    if (!kernels::packed_gemm_is_fast()) return false;
    const char* name = openblas_get_corename();
    std::string core = name ? name : "";
    std::transform(core.begin(), core.end(), core.begin(), [](unsigned char c) { return std::tolower(c); });
    for (const char* avx512 : {"skylakex", "cooperlake", "sapphirerapids", "zen4", "zen5"}) {
      if (core == avx512) return false;
    }
    return true;
  }();
  return lacks;
}

// Smallest M, N and K for which float32 products use the packed GEMM when it is preferred.
constexpr int64_t kPackedMinRows = 16, kPackedMinCols = 32, kPackedMinDepth = 16;

// C[M, N] (row stride ldc) = A @ B through the packed GEMM: row blocks of A packed once,
// column chunks side by side on the pool, written straight into C.
void float_matrix_packed(const float* A, const Mat& a, const float* B, const Mat& b, float* C,
                         int64_t ldc, bool parallel) {
  const int64_t M = a.rows, K = a.cols, N = b.cols;
  const BlasView vb = blas_view(b);
  const int64_t tile = kernels::kPackedGemmRows;
  const int64_t row_block =
      std::min(M, std::max<int64_t>(tile, kHalfRowBlockBytes / (4 * K) / tile * tile));
  const int64_t threads = parallel ? cpu::num_threads() : 1;
  const int64_t chunk = std::clamp<int64_t>(N / (4 * threads) / 32 * 32, 32, 256);
  const int64_t chunks = (N + chunk - 1) / chunk;
  auto packed = scratch<float>(kernels::packed_gemm_size(row_block, K));
  for (int64_t m0 = 0; m0 < M; m0 += row_block) {
    const int64_t mb = std::min(row_block, M - m0);
    const int64_t tiles = (mb + tile - 1) / tile;
    run(parallel, tiles, std::max<int64_t>(1, kMinChunkWork / (tile * K)), [&](int64_t t0, int64_t t1) {
      kernels::packed_gemm_pack_x(A + (m0 + t0 * tile) * a.rs, a.rs, a.cs, mb, K, t0, t1,
                                  packed.get());
    });
    run(parallel, chunks, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        const int64_t n0 = c * chunk, n1 = std::min(N, n0 + chunk);
        float* out = C + m0 * ldc + n0;
        if (vb.trans) {
          kernels::packed_gemm_float_nt(packed.get(), mb, K, B, vb.ld, n0, n1, out, ldc);
        } else {
          kernels::packed_gemm_float_nn(packed.get(), mb, K, B, vb.ld, n0, n1, out, ldc);
        }
      }
    });
  }
}

// C = A @ B for one float32 matrix pair: OpenBLAS, or the packed GEMM where OpenBLAS lacks
// the CPU's vector width.
void float_matrix(const float* A, const Mat& a, const float* B, const Mat& b, float* C,
                  int64_t ldc, bool parallel) {
  if (blas_lacks_avx512() && a.rows >= kPackedMinRows && b.cols >= kPackedMinCols &&
      a.cols >= kPackedMinDepth) {
    float_matrix_packed(A, a, B, b, C, ldc, parallel);
  } else {
    sgemm_matrix(A, a, B, b, C, ldc);
  }
}

// ---- float16 / bfloat16 ----

inline float half_value(HalfType type, uint16_t h) {
  return type == HalfType::bfloat16 ? bfloat_bits_to_float(h) : half_bits_to_float(h);
}

// dst[r * ld + c] = float(src[r * m.rs + c * m.cs]) for r < rows, c < m.cols.
void rows_to_float(HalfType type, const uint16_t* src, const Mat& m, int64_t rows, float* dst,
                   int64_t ld) {
  if (m.cs == 1 || m.cols == 1) {
    for (int64_t r = 0; r < rows; ++r) kernels::half_to_float(type, src + r * m.rs, dst + r * ld, m.cols);
  } else if (m.rs == 1) {
    // Columns are contiguous (a transposed view): convert runs down a column, then scatter.
    constexpr int64_t kRun = 256;
    float run_buf[kRun];
    for (int64_t r0 = 0; r0 < rows; r0 += kRun) {
      const int64_t n = std::min(kRun, rows - r0);
      for (int64_t c = 0; c < m.cols; ++c) {
        kernels::half_to_float(type, src + r0 + c * m.cs, run_buf, n);
        for (int64_t i = 0; i < n; ++i) dst[(r0 + i) * ld + c] = run_buf[i];
      }
    }
  } else {
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < m.cols; ++c) dst[r * ld + c] = half_value(type, src[r * m.rs + c * m.cs]);
    }
  }
}

// acc[r * N + n] = x[r, :] . w[:, n] for n in [n0, n1), x float32 [R, K] (row stride K),
// w a half [K, N] matrix read in whichever direction is contiguous.
void direct_product(HalfType type, const float* x, int64_t R, const uint16_t* w, const Mat& wm,
                    int64_t n0, int64_t n1, float* acc) {
  const int64_t K = wm.rows, N = wm.cols;
  const BlasView v = blas_view(wm);
  if (v.trans) {
    kernels::half_matmul_nt(type, x, K, R, K, w, v.ld, n0, n1, acc, N);
  } else {
    kernels::half_matmul_nn(type, x, K, R, K, w, v.ld, n0, n1, acc, N);
  }
}

// C = A @ W^T for many rows A [M, K] and a weight W [N, K] with contiguous rows (row
// stride ldw) through the blocked half GEMM: row blocks of A are converted and packed
// once, column chunks of W go side by side on the pool, each through a small float32
// scratch that is rounded into C. (Measured against the panel + sgemm route below:
// no repacking of A per panel, and each weight element converted once per row block.)
void half_matrix_packed(HalfType type, const uint16_t* A, const Mat& a, const uint16_t* W,
                        int64_t ldw, int64_t N, uint16_t* C, int64_t ldc, bool parallel) {
  const int64_t M = a.rows, K = a.cols;
  const int64_t tile = kernels::kPackedGemmRows;
  const int64_t row_block =
      std::min(M, std::max<int64_t>(tile, kHalfRowBlockBytes / (4 * K) / tile * tile));
  const int64_t threads = parallel ? cpu::num_threads() : 1;
  const int64_t chunk = std::clamp<int64_t>(N / (4 * threads) / 32 * 32, 32, 256);
  const int64_t chunks = (N + chunk - 1) / chunk;
  auto packed = scratch<float>(kernels::packed_gemm_size(row_block, K));
  for (int64_t m0 = 0; m0 < M; m0 += row_block) {
    const int64_t mb = std::min(row_block, M - m0);
    const int64_t tiles = (mb + tile - 1) / tile;
    run(parallel, tiles, std::max<int64_t>(1, kMinChunkWork / (tile * K)), [&](int64_t t0, int64_t t1) {
      auto rows = scratch<float>(tile * K);
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t r0 = t * tile, nr = std::min(tile, mb - r0);
        rows_to_float(type, A + (m0 + r0) * a.rs, a, nr, rows.get(), K);
        kernels::packed_gemm_pack_x(rows.get(), K, 1, mb, K, t, t + 1, packed.get());
      }
    });
    run(parallel, chunks, 1, [&](int64_t c0, int64_t c1) {
      auto acc = scratch<float>(mb * chunk);
      for (int64_t c = c0; c < c1; ++c) {
        const int64_t n0 = c * chunk, n1 = std::min(N, n0 + chunk);
        kernels::packed_gemm_half_nt(type, packed.get(), mb, K, W, ldw, n0, n1, acc.get(), n1 - n0);
        for (int64_t r = 0; r < mb; ++r) {
          kernels::float_to_half(type, acc.get() + r * (n1 - n0), C + (m0 + r) * ldc + n0, n1 - n0);
        }
      }
    });
  }
}

// C = A @ B for one half matrix pair; C has row stride ldc.
void half_matrix(HalfType type, const uint16_t* A, const Mat& a, const uint16_t* B,
                 const Mat& b, uint16_t* C, int64_t ldc, bool parallel) {
  const int64_t M = a.rows, K = a.cols, N = b.cols;
  const bool swap = M > kHalfDirectMaxRows && N <= kHalfDirectMaxRows;
  if (M <= kHalfDirectMaxRows || swap) {
    // Few rows (decode) or few columns: out^T = B^T A^T puts the small side first.
    const uint16_t* xs = swap ? B : A;
    const Mat xm = swap ? b.transposed() : a;
    const uint16_t* w = swap ? A : B;
    const Mat wm = swap ? a.transposed() : b;
    const int64_t R = xm.rows, W = wm.cols;
    auto x = scratch<float>(R * K);
    rows_to_float(type, xs, xm, R, x.get(), K);
    auto acc = scratch<float>(R * W);
    // Columns in blocks that the pool's threads take in turn (about 8 per thread): decode
    // streams the weight from memory, and equal static halves left one thread idle while
    // the other still waited on its share (measured ~5% more tokens/s).
    const int64_t grain = std::max<int64_t>(8, kMinChunkWork / std::max<int64_t>(R * K, 1));
    const int64_t threads = parallel ? cpu::num_threads() : 1;
    const int64_t block = (std::max(grain, (W + threads * 8 - 1) / (threads * 8)) + 7) / 8 * 8;
    const int64_t blocks = (W + block - 1) / block;
    std::atomic<int64_t> next_block{0};
    run(parallel && blocks > 1, std::min<int64_t>(threads, blocks), 1, [&](int64_t, int64_t) {
      for (int64_t blk = next_block.fetch_add(1); blk < blocks; blk = next_block.fetch_add(1)) {
        const int64_t n0 = blk * block, n1 = std::min(W, n0 + block);
        direct_product(type, x.get(), R, w, wm, n0, n1, acc.get());
        for (int64_t r = 0; r < R; ++r) {
          if (!swap) {
            kernels::float_to_half(type, acc.get() + r * W + n0, C + r * ldc + n0, n1 - n0);
          } else {
            for (int64_t n = n0; n < n1; ++n) {
              const float v = acc[r * W + n];
              C[n * ldc + r] = type == HalfType::bfloat16 ? float_to_bfloat_bits(v)
                                                          : float_to_half_bits(v);
            }
          }
        }
      }
    });
    return;
  }
  const BlasView vb = blas_view(b);
  if (vb.trans && kernels::packed_gemm_is_fast()) {
    half_matrix_packed(type, A, a, B, vb.ld, N, C, ldc, parallel);
    return;
  }
  // Many rows: A rows are converted to float32 once per row block; the weight is cut into
  // panels of columns, each converted into a small (L2-sized) float32 scratch and
  // multiplied by single-threaded sgemm, panels side by side on the pool. (Measured against
  // converting 4 MB column blocks for OpenBLAS's own threads: equal at 128 rows, up to 25%
  // faster at 16-32 rows, and no BLAS threads competing with the pool.)
  const int64_t row_block = std::min(M, std::max<int64_t>(64, kHalfRowBlockBytes / (4 * K)));
  const int64_t panel =
      std::min(N, std::clamp<int64_t>(kHalfPanelBytes / (4 * K) / 16 * 16, 16, 256));
  const int64_t panels = (N + panel - 1) / panel;
  auto xa = scratch<float>(row_block * K);
  for (int64_t m0 = 0; m0 < M; m0 += row_block) {
    const int64_t mb = std::min(row_block, M - m0);
    run(parallel, mb, std::max<int64_t>(1, kMinChunkWork / K), [&](int64_t r0, int64_t r1) {
      rows_to_float(type, A + (m0 + r0) * a.rs, a, r1 - r0, xa.get() + r0 * K, K);
    });
    std::optional<SerialBlas> serial;
    if (parallel) serial.emplace();  // (inside batch-parallel regions BLAS is serial already)
    run(parallel, panels, 1, [&](int64_t p0, int64_t p1) {
      auto wb = scratch<float>(K * panel);
      auto cb = scratch<float>(mb * panel);
      for (int64_t p = p0; p < p1; ++p) {
        const int64_t n0 = p * panel, nb = std::min(panel, N - n0);
        if (vb.trans) {  // weight rows (B^T rows) are contiguous: wb = [nb, K]
          const Mat bt = b.transposed();
          rows_to_float(type, B + n0 * bt.rs, bt, nb, wb.get(), K);
        } else {  // B rows are contiguous: wb = [K, nb]
          const Mat cols{K, nb, b.rs, b.cs};
          rows_to_float(type, B + n0 * b.cs, cols, K, wb.get(), nb);
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, vb.trans ? CblasTrans : CblasNoTrans,
                    blas_int(mb), blas_int(nb), blas_int(K), 1.0f, xa.get(), blas_int(K),
                    wb.get(), blas_int(vb.trans ? K : nb), 0.0f, cb.get(), blas_int(nb));
        for (int64_t r = 0; r < mb; ++r) {
          kernels::float_to_half(type, cb.get() + r * nb, C + (m0 + r) * ldc + n0, nb);
        }
      }
    });
  }
}

// ---- integers and bool ----

template <typename T>
uint64_t widen(T v) {
  if constexpr (std::is_signed_v<T>) return static_cast<uint64_t>(static_cast<int64_t>(v));
  else return static_cast<uint64_t>(v);
}

// Rows [m0, m1) of C = A @ B. Sums are taken modulo 2^64 and then narrowed, which is the
// result of wrapping arithmetic in T (bool: any product true).
template <typename T>
void int_rows(const T* A, const Mat& a, const T* B, const Mat& b, T* C, int64_t ldc, int64_t m0,
              int64_t m1) {
  const int64_t K = a.cols, N = b.cols;
  std::vector<uint64_t> acc(static_cast<size_t>(N));
  for (int64_t m = m0; m < m1; ++m) {
    std::fill(acc.begin(), acc.end(), 0);
    for (int64_t k = 0; k < K; ++k) {
      const uint64_t av = widen(A[m * a.rs + k * a.cs]);
      if (av == 0) continue;
      const T* br = B + k * b.rs;
      for (int64_t n = 0; n < N; ++n) acc[n] += av * widen(br[n * b.cs]);
    }
    T* cr = C + m * ldc;
    for (int64_t n = 0; n < N; ++n) {
      if constexpr (std::is_same_v<T, bool>) cr[n] = acc[n] != 0;
      else cr[n] = static_cast<T>(acc[n]);
    }
  }
}

}  // namespace

void cpu::float_gemm(const float* A, int64_t lda, const float* B, int64_t ldb, bool b_transposed, int64_t M,
                     int64_t N, int64_t K, float* C, int64_t ldc, bool parallel) {
  const Mat a{M, K, lda, 1};
  const Mat b = b_transposed ? Mat{K, N, 1, ldb} : Mat{K, N, ldb, 1};
  if (parallel) set_blas_threads(cpu::num_threads());
  float_matrix(A, a, B, b, C, ldc, parallel);
}

namespace {

// out = a @ b (the body of Matmul::eval_cpu).
void matmul_product(Array a, Array b, Array& out) {
  out.allocate();
  if (out.size() == 0) return;
  const Dtype dtype = out.dtype();
  const int64_t M = a.shape()[a.ndim() - 2], K = a.shape()[a.ndim() - 1];
  const int64_t N = b.shape()[b.ndim() - 1];
  if (K == 0) {  // empty sums: all-zero bits are 0 in every dtype
    std::memset(out.raw_data(), 0, out.nbytes());
    return;
  }
  if (is_floating(dtype)) {
    // BLAS and the half kernels need one unit-stride direction per matrix.
    if (!blas_view(matrix_of(a)).ok) a = row_major_copy(a);
    if (!blas_view(matrix_of(b)).ok) b = row_major_copy(b);
  }
  const Shape batch(out.shape().begin(), out.shape().end() - 2);
  std::vector<int64_t> a_off = batch_offsets(a, batch);
  std::vector<int64_t> b_off = batch_offsets(b, batch);
  Mat am = matrix_of(a);
  const Mat bm = matrix_of(b);
  int64_t rows = M;
  // A right operand shared by all batches, with the left operand's batches stacked at one
  // row stride (x[B, L, D] @ W^T): one GEMM with B * L rows.
  if (a_off.size() > 1 && std::all_of(b_off.begin(), b_off.end(), [&](int64_t o) { return o == b_off[0]; })) {
    const BlasView va = blas_view(am);
    const int64_t rs = M > 1 ? am.rs : a_off[1] - a_off[0];
    bool stacked = va.ok && !va.trans && rs >= K && (K == 1 || am.cs == 1);
    for (size_t i = 0; stacked && i < a_off.size(); ++i) {
      stacked = a_off[i] == a_off[0] + static_cast<int64_t>(i) * M * rs;
    }
    if (stacked) {
      rows = M * static_cast<int64_t>(a_off.size());
      am.rows = rows;
      am.rs = rs;
      a_off.erase(a_off.begin() + 1, a_off.end());
      b_off.erase(b_off.begin() + 1, b_off.end());
    }
  }
  if (is_floating(dtype)) {
    for (int64_t v : {rows, N, K, am.rs, am.cs, bm.rs, bm.cs}) {
      if (v > INT_MAX) {
        throw Error("matmul: dimension or stride " + std::to_string(v) + " is too large for BLAS");
      }
    }
  }
  const int64_t count = static_cast<int64_t>(a_off.size());
  const int64_t out_stride = rows * N;
  const int threads = cpu::num_threads();
  set_blas_threads(threads);
  const double work = static_cast<double>(rows) * N * K;
  const bool batch_parallel = count > 1 && threads > 1 &&
                              (work <= kBlasSerialWork || count % threads == 0 || count >= 4 * threads);
  // Calls matrix(i, parallel) for every batch i: batches side by side on the pool (BLAS
  // serial inside), or one after another, each using the pool itself.
  auto for_batches = [&](auto&& matrix) {
    if (batch_parallel) {
      SerialBlas serial;
      cpu::parallel_for(count, 1, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) matrix(i, false);
      });
    } else {
      for (int64_t i = 0; i < count; ++i) matrix(i, true);
    }
  };

  if (dtype == Dtype::float32) {
    const float* pa = a.data<float>();
    const float* pb = b.data<float>();
    float* pc = out.data<float>();
    for_batches([&](int64_t i, bool parallel) {
      float_matrix(pa + a_off[i], am, pb + b_off[i], bm, pc + i * out_stride, N, parallel);
    });
  } else if (dtype == Dtype::float16 || dtype == Dtype::bfloat16) {
    const HalfType type = dtype == Dtype::float16 ? HalfType::float16 : HalfType::bfloat16;
    const uint16_t* pa = a.data<uint16_t>();
    const uint16_t* pb = b.data<uint16_t>();
    uint16_t* pc = out.data<uint16_t>();
    for_batches([&](int64_t i, bool parallel) {
      half_matrix(type, pa + a_off[i], am, pb + b_off[i], bm, pc + i * out_stride, N, parallel);
    });
  } else {
    dispatch_dtype(dtype, [&](auto t) {
      using T = decltype(t);
      if constexpr (std::is_integral_v<T>) {
        const T* pa = a.data<T>();
        const T* pb = b.data<T>();
        T* pc = out.data<T>();
        for_batches([&](int64_t i, bool parallel) {
          run(parallel, rows, kMinChunkWork / std::max<int64_t>(N * K, 1), [&](int64_t m0, int64_t m1) {
            int_rows(pa + a_off[i], am, pb + b_off[i], bm, pc + i * out_stride, N, m0, m1);
          });
        });
      }
    });
  }
}

}  // namespace

void Matmul::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  if (gated_) return eval_gated_now(gated_halves(*this, inputs), Device::cpu(), out);
  // A folded norm: the normalised rows first (RmsNorm's kernel, rounded to the dtype).
  matmul_product(norm_eps_ ? rms_norm_now(inputs[0], inputs[2], *norm_eps_, Device::cpu()) : inputs[0], inputs[1],
                 out);
  if (!addend_ || out.size() == 0) return;
  // The addend after the product (BLAS and the half kernels store the output's dtype):
  // float32 sums of the stored product and c, rounded to the dtype.
  std::vector<float> y = cpu::load_all(out);
  cpu::add_all(inputs.back(), y.data());
  cpu::store_row(y.data(), out, 0, out.size());
}

}  // namespace lamina::core
