// The scalar function of every elementwise primitive, shared by the CPU kernels and the
// tests' reference computations. Each takes and returns the compute type (float for
// half types).
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

namespace lamina::kernels::ops {

template <typename T>
constexpr bool is_float_v = std::is_floating_point_v<T>;

struct Negative {
  template <typename T> T operator()(T x) const { return static_cast<T>(-x); }
};
struct Abs {
  template <typename T> T operator()(T x) const {
    if constexpr (std::is_unsigned_v<T>) return x;
    else return x < T(0) ? static_cast<T>(-x) : x;
  }
};
struct Exp { template <typename T> T operator()(T x) const { return std::exp(x); } };
struct Log { template <typename T> T operator()(T x) const { return std::log(x); } };
struct Log1p { template <typename T> T operator()(T x) const { return std::log1p(x); } };
struct Sqrt { template <typename T> T operator()(T x) const { return std::sqrt(x); } };
struct Rsqrt { template <typename T> T operator()(T x) const { return T(1) / std::sqrt(x); } };
struct Square { template <typename T> T operator()(T x) const { return static_cast<T>(x * x); } };
struct Sin { template <typename T> T operator()(T x) const { return std::sin(x); } };
struct Cos { template <typename T> T operator()(T x) const { return std::cos(x); } };
struct Tanh { template <typename T> T operator()(T x) const { return std::tanh(x); } };
struct Sigmoid {
  template <typename T> T operator()(T x) const { return T(1) / (T(1) + std::exp(-x)); }
};
struct Erf { template <typename T> T operator()(T x) const { return std::erf(x); } };
struct Silu {
  template <typename T> T operator()(T x) const { return x / (T(1) + std::exp(-x)); }
};
struct Gelu {
  template <typename T> T operator()(T x) const {
    return T(0.5) * x * (T(1) + std::erf(x * T(0.70710678118654752440)));
  }
};
struct GeluTanh {
  template <typename T> T operator()(T x) const {
    const T k = T(0.79788456080286535588);  // sqrt(2 / pi)
    return T(0.5) * x * (T(1) + std::tanh(k * (x + T(0.044715) * x * x * x)));
  }
};
struct Floor {
  template <typename T> T operator()(T x) const {
    if constexpr (is_float_v<T>) return std::floor(x); else return x;
  }
};
struct Ceil {
  template <typename T> T operator()(T x) const {
    if constexpr (is_float_v<T>) return std::ceil(x); else return x;
  }
};
struct Round {
  template <typename T> T operator()(T x) const {
    if constexpr (is_float_v<T>) return std::nearbyint(x); else return x;
  }
};
struct Sign {
  template <typename T> T operator()(T x) const {
    if constexpr (std::is_unsigned_v<T>) return x > T(0) ? T(1) : T(0);
    else return static_cast<T>((T(0) < x) - (x < T(0)));
  }
};
struct LogicalNot { bool operator()(bool x) const { return !x; } };

struct Add { template <typename T> T operator()(T a, T b) const { return static_cast<T>(a + b); } };
struct Subtract {
  template <typename T> T operator()(T a, T b) const { return static_cast<T>(a - b); }
};
struct Multiply {
  template <typename T> T operator()(T a, T b) const { return static_cast<T>(a * b); }
};
struct Divide {
  template <typename T> T operator()(T a, T b) const {
    if constexpr (is_float_v<T>) return a / b;
    else return b == T(0) ? T(0) : static_cast<T>(a / b);  // integer division by 0 -> 0
  }
};
struct Power {
  template <typename T> T operator()(T a, T b) const {
    if constexpr (is_float_v<T>) {
      return std::pow(a, b);
    } else {
      if constexpr (std::is_signed_v<T>) {
        if (b < 0) return static_cast<T>(a == 1 ? 1 : (a == -1 ? ((b & 1) ? -1 : 1) : 0));
      }
      T result = 1, base = a;
      auto e = b;
      while (e > 0) {
        if (e & 1) result = static_cast<T>(result * base);
        base = static_cast<T>(base * base);
        e = static_cast<T>(e >> 1);
      }
      return result;
    }
  }
};
struct Maximum {
  template <typename T> T operator()(T a, T b) const {
    if constexpr (is_float_v<T>) {
      if (std::isnan(a)) return a;
    }
    return a > b ? a : b;
  }
};
struct Minimum {
  template <typename T> T operator()(T a, T b) const {
    if constexpr (is_float_v<T>) {
      if (std::isnan(a)) return a;
    }
    return a < b ? a : b;
  }
};
// silu(a) * b with silu's value rounded to the storage type S first, as the two ops give.
template <typename S>
struct SiluMultiply {
  template <typename T> T operator()(T a, T b) const {
    return static_cast<T>(static_cast<T>(static_cast<S>(Silu{}(a))) * b);
  }
};
struct Equal { template <typename T> bool operator()(T a, T b) const { return a == b; } };
struct NotEqual { template <typename T> bool operator()(T a, T b) const { return a != b; } };
struct Less { template <typename T> bool operator()(T a, T b) const { return a < b; } };
struct LessEqual { template <typename T> bool operator()(T a, T b) const { return a <= b; } };
struct Greater { template <typename T> bool operator()(T a, T b) const { return a > b; } };
struct GreaterEqual { template <typename T> bool operator()(T a, T b) const { return a >= b; } };
struct LogicalAnd { bool operator()(bool a, bool b) const { return a && b; } };
struct LogicalOr { bool operator()(bool a, bool b) const { return a || b; } };

}  // namespace lamina::kernels::ops
