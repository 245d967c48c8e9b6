// Branch-free float approximations that vectorize when inlined into a loop (std::exp does
// not, without -ffast-math).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "mlaf/simd.h"

namespace mlaf {

// exp(x): Cody-Waite range reduction x = n ln2 + f, a degree-6 polynomial for exp(f)
// (Cephes' expf coefficients, within 2 ulp), scaled by 2^n through the exponent bits.
MLAF_ALWAYS_INLINE float exp_approx(float x) {
  x = std::min(std::max(x, -87.0f), 88.0f);
  const float n = std::floor(x * 1.44269504088896341f + 0.5f);
  const float f = (x - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * f + 1.3981999507e-3f;
  p = p * f + 8.3334519073e-3f;
  p = p * f + 4.1665795894e-2f;
  p = p * f + 1.6666665459e-1f;
  p = p * f + 5.0000001201e-1f;
  const float y = p * f * f + f + 1.0f;
  const std::int32_t bits = (static_cast<std::int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return y * scale;
}

MLAF_ALWAYS_INLINE float sigmoid_approx(float x) { return 1.0f / (1.0f + exp_approx(-x)); }

// tanh(x) = 2 sigmoid(2x) - 1: within about 1e-7 of std::tanh in absolute terms.
MLAF_ALWAYS_INLINE float tanh_approx(float x) { return 2.0f * sigmoid_approx(2.0f * x) - 1.0f; }

}  // namespace mlaf
