// Threefry-2x32 with 20 rounds: the counter-based block cipher that lamina's random numbers
// come from (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy as 1, 2, 3",
// SC 2011). Word w of a key's stream depends only on (key, w), so any split of the work over
// threads gives the same numbers. Leaf code.
#pragma once

#include <array>
#include <cstdint>

namespace lamina::kernels {

// The constant the key schedule's third word is XORed with (from the Threefish design).
inline constexpr uint32_t kThreefryParity = 0x1BD11BDAu;
// Rotation distances of the 2x32 variant, one per round, repeating every 8 rounds.
inline constexpr int kThreefryRotations[8] = {13, 15, 26, 6, 17, 29, 16, 24};
inline constexpr int kThreefryRounds = 20;

inline uint32_t rotate_left(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

// Returns the encryption of the counter block (c0, c1) under the key (k0, k1).
inline std::array<uint32_t, 2> threefry2x32(uint32_t k0, uint32_t k1, uint32_t c0, uint32_t c1) {
  const uint32_t schedule[3] = {k0, k1, k0 ^ k1 ^ kThreefryParity};
  uint32_t x0 = c0 + schedule[0];
  uint32_t x1 = c1 + schedule[1];
  for (int r = 0; r < kThreefryRounds; ++r) {
    x0 += x1;
    x1 = rotate_left(x1, kThreefryRotations[r % 8]);
    x1 ^= x0;
    if (r % 4 == 3) {
      // Key injection after every fourth round; the injection count keeps rounds distinct.
      const uint32_t s = static_cast<uint32_t>(r / 4 + 1);
      x0 += schedule[s % 3];
      x1 += schedule[(s + 1) % 3] + s;
    }
  }
  return {x0, x1};
}

// Writes words [begin, end) of the key's stream to out[0, end - begin). Block b (counter
// words b mod 2^32 and b / 2^32) gives stream words 2b and 2b + 1.
inline void threefry_stream(uint32_t k0, uint32_t k1, int64_t begin, int64_t end, uint32_t* out) {
  int64_t w = begin;
  while (w < end) {
    const uint64_t block = static_cast<uint64_t>(w) / 2;
    const auto y = threefry2x32(k0, k1, static_cast<uint32_t>(block),
                                static_cast<uint32_t>(block >> 32));
    if (w % 2 == 0) {
      out[w - begin] = y[0];
      if (w + 1 < end) out[w + 1 - begin] = y[1];
      w += 2;
    } else {
      out[w - begin] = y[1];
      w += 1;
    }
  }
}

// Maps a random word to a float in [0, 1) with 24 random bits (every value a float32 holds
// exactly at that spacing, so rounding can never give 1).
inline float unit_float(uint32_t word) { return static_cast<float>(word >> 8) * (1.0f / 16777216.0f); }

}  // namespace lamina::kernels
