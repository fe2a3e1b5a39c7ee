// Kernels for matmuls whose weight is float16/bfloat16: conversion of runs to and from
// float32, and a direct small-M product (decode: a few rows times a large weight) that
// converts the weight on the fly, so that no float32 copy of it is ever made.
// Each kernel has a scalar reference path and an AVX2+FMA+F16C path. Leaf code.
#pragma once

#include <cstdint>

#include "kernels/cpu/isa.h"

namespace lamina::kernels {

enum class HalfType { float16, bfloat16 };

// dst[i] = float(src[i]) for i < n.
void half_to_float(HalfType type, const uint16_t* src, float* dst, int64_t n,
                   Isa isa = best_isa());
// dst[i] = src[i] rounded to the nearest half value (ties to even).
void float_to_half(HalfType type, const float* src, uint16_t* dst, int64_t n,
                   Isa isa = best_isa());

// Weight stored as rows of K (a [N, K] matrix, e.g. a Linear weight used transposed):
//   out[m * ldo + n] = sum_k x[m * ldx + k] * w[n * ldw + k]
// for m < M and n in [n_begin, n_end). x and out are float32; products accumulate in float32.
void half_matmul_nt(HalfType type, const float* x, int64_t ldx, int64_t M, int64_t K,
                    const uint16_t* w, int64_t ldw, int64_t n_begin, int64_t n_end, float* out,
                    int64_t ldo, Isa isa = best_isa());

// Weight stored as rows of N (a [K, N] matrix):
//   out[m * ldo + n] = sum_k x[m * ldx + k] * b[k * ldb + n]
// for m < M and n in [n_begin, n_end).
void half_matmul_nn(HalfType type, const float* x, int64_t ldx, int64_t M, int64_t K,
                    const uint16_t* b, int64_t ldb, int64_t n_begin, int64_t n_end, float* out,
                    int64_t ldo, Isa isa = best_isa());

}  // namespace lamina::kernels
