// Output buffer selection and strided, converting copies.
#include "libcore/backend/cpu/cpu_util.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "kernels/cpu/strided_loop.h"
#include "libcore/backend/cpu/thread_pool.h"

namespace lamina::core::cpu {

bool can_donate(const Array& in, const Array& out) {
  return in.use_count() == 1 && in.buffer().use_count() == 1 &&
         in.buffer()->owned_by_allocator() && in.itemsize() == out.itemsize() &&
         in.size() == out.size() && in.is_row_contiguous() &&
         in.buffer()->bytes() >= in.offset() + in.nbytes();
}

void prepare_output(Array& out, const std::vector<Array>& inputs) {
  for (const auto& in : inputs) {
    if (can_donate(in, out)) {
      out.set_data(in.buffer(), in.offset(), row_major_strides(out.shape()));
      return;
    }
  }
  out.allocate();
}

namespace {
// A float to an integer type with defined results where C++ leaves them undefined: NaN
// gives 0; signed types saturate; unsigned types take the value modulo 2^bits of its
// int64 truncation (what x86 and numpy give for a negative float, e.g. -1.5 -> 2^32 - 1
// as uint32), with values past 2^63 saturating.
template <typename To>
To float_to_integer(double v) {
  using Limits = std::numeric_limits<To>;
  if (std::isnan(v)) return 0;
  if constexpr (std::is_signed_v<To>) {
    if (v <= static_cast<double>(Limits::min())) return Limits::min();
    if (v >= -static_cast<double>(Limits::min())) return Limits::max();  // 2^(bits-1)
    return static_cast<To>(v);
  } else {
    if (v >= 0x1p64 || (sizeof(To) < 8 && v >= 0x1p63)) return Limits::max();
    if (v >= 0x1p63) return static_cast<To>(v);  // uint64 above int64's range
    int64_t i = v <= -0x1p63 ? std::numeric_limits<int64_t>::min() : static_cast<int64_t>(v);
    return static_cast<To>(i);
  }
}

template <typename To, typename From>
To convert(From v) {
  if constexpr (std::is_same_v<To, bool>) {
    return static_cast<float>(v) != 0.0f;
  } else if constexpr (std::is_same_v<To, float16_t> || std::is_same_v<To, bfloat16_t>) {
    return To(static_cast<float>(v));
  } else if constexpr (std::is_integral_v<To> &&
                       (std::is_floating_point_v<From> || std::is_same_v<From, float16_t> ||
                        std::is_same_v<From, bfloat16_t>)) {
    if constexpr (std::is_floating_point_v<From>) {
      return float_to_integer<To>(static_cast<double>(v));
    } else {
      return float_to_integer<To>(static_cast<double>(static_cast<float>(v)));
    }
  } else {
    return static_cast<To>(v);
  }
}
}  // namespace

void copy_convert(const Array& in, Array& out) {
  if (in.size() == 0) return;
  if (in.dtype() == out.dtype() && in.is_row_contiguous() && out.is_row_contiguous()) {
    const char* src = static_cast<const char*>(in.raw_data());
    char* dst = static_cast<char*>(out.raw_data());
    if (src == dst) return;
    parallel_for(static_cast<int64_t>(in.nbytes()), 1 << 20, [&](int64_t b, int64_t e) {
      std::memcpy(dst + b, src + b, static_cast<size_t>(e - b));
    });
    return;
  }
  auto loop = kernels::collapse_dims<2>(in.shape(), {&in.strides(), &out.strides()});
  dispatch_dtype(in.dtype(), [&](auto tin) {
    using From = decltype(tin);
    dispatch_dtype(out.dtype(), [&](auto tout) {
      using To = decltype(tout);
      const From* src = in.data<From>();
      To* dst = out.data<To>();
      parallel_for(in.size(), 1 << 14, [&](int64_t b, int64_t e) {
        kernels::for_each_run<2>(loop, b, e, [&](const auto& off, int64_t n, const auto& st) {
          for (int64_t i = 0; i < n; ++i) {
            dst[off[1] + i * st[1]] = convert<To>(src[off[0] + i * st[0]]);
          }
        });
      });
    });
  });
}

}  // namespace lamina::core::cpu
