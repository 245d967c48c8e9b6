#include "mlaf/sac_heads.h"

#include <algorithm>
#include <cmath>

namespace mlaf {
namespace {

constexpr float kLogSigmaMin = -20.0f;
constexpr float kLogSigmaMax = 2.0f;
constexpr float kEpsilon = 1e-7f;
const float kHalfLog2Pi = static_cast<float>(0.5 * std::log(2.0 * 3.14159265358979323846));
const float kLog2 = static_cast<float>(std::log(2.0));

// torch's softplus (beta 1, threshold 20).
inline float softplus(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }

struct Squash {
  float log_sigma, sigma, u, offset, spread;
};

inline Squash squash(float mu, float raw, float noise) {
  Squash s;
  s.log_sigma = std::min(std::max(raw, kLogSigmaMin), kLogSigmaMax);
  s.sigma = std::exp(s.log_sigma);
  s.u = mu + noise * s.sigma;
  s.offset = s.u - mu;
  s.spread = 2.0f * s.sigma * s.sigma + kEpsilon;
  return s;
}

}  // namespace

void sac_squash_forward(std::size_t rows, std::size_t dims, const float* mu,
                        const float* raw_log_sigma, const float* noise, float* action,
                        float* log_prob_sums) {
  for (std::size_t b = 0; b < rows; ++b) {
    double sum = 0.0;
    for (std::size_t c = 0; c < dims; ++c) {
      const std::size_t i = b * dims + c;
      const Squash s = squash(mu[i], raw_log_sigma[i], noise[i]);
      action[i] = std::tanh(s.u);
      const float gaussian = -(s.offset * s.offset) / s.spread - s.log_sigma - kHalfLog2Pi;
      sum += gaussian - 2.0f * (kLog2 - s.u - softplus(-2.0f * s.u));
    }
    log_prob_sums[b] = static_cast<float>(sum);
  }
}

void sac_squash_backward(std::size_t rows, std::size_t dims, const float* mu,
                         const float* raw_log_sigma, const float* noise, const float* grad_action,
                         float grad_log_prob, float* grad_mu, float* grad_raw_log_sigma) {
  for (std::size_t i = 0; i < rows * dims; ++i) {
    const Squash s = squash(mu[i], raw_log_sigma[i], noise[i]);
    const float action = std::tanh(s.u);
    // d gaussian / d u; the Gaussian's direct dependence on mu is its negative
    const float d_gaussian = -2.0f * s.offset / s.spread;
    // d/du of the tanh correction -2 (log 2 - u - softplus(-2u)) is 2 tanh(u)
    const float d_u =
        grad_log_prob * (d_gaussian + 2.0f * action) + grad_action[i] * (1.0f - action * action);
    grad_mu[i] = d_u - grad_log_prob * d_gaussian;
    const float d_sigma = d_u * noise[i] + grad_log_prob * 4.0f * s.sigma * s.offset * s.offset /
                                               (s.spread * s.spread);
    const bool inside = raw_log_sigma[i] >= kLogSigmaMin && raw_log_sigma[i] <= kLogSigmaMax;
    grad_raw_log_sigma[i] = inside ? d_sigma * s.sigma - grad_log_prob : 0.0f;
  }
}

SACLosses sac_losses(std::size_t rows, std::size_t signals, const SACLossInputs& in, float* grad_q,
                     float* grad_values) {
  const std::size_t n = rows * signals;
  const double scale = 1.0 / static_cast<double>(n);
  const std::size_t q2_offset = 2 * rows * signals;  // Q2's block in [2, 2B, S]
  const std::size_t policy_offset = rows * signals;  // the policy rows within a block
  SACLosses out;
  double q1_sum = 0.0, q2_sum = 0.0, value_sum = 0.0, policy_sum = 0.0;
  double entropy_gap = 0.0;
  for (std::size_t b = 0; b < rows; ++b) {
    const float log_prob = in.log_prob_sums[b];
    const float bonus = in.alpha * log_prob;
    double q1_policy = 0.0;
    for (std::size_t s = 0; s < signals; ++s) {
      const std::size_t i = b * signals + s;
      const float backup =
          in.rewards[s * rows + b] + (1.0f - in.done[b]) * in.gammas[s] * in.next_values[i];
      const float e1 = in.q[i] - backup;
      const float e2 = in.q[q2_offset + i] - backup;
      grad_q[i] = static_cast<float>(e1 * scale);
      grad_q[q2_offset + i] = static_cast<float>(e2 * scale);
      q1_sum += static_cast<double>(e1) * e1;
      q2_sum += static_cast<double>(e2) * e2;
      const float p1 = in.q[policy_offset + i];
      const float p2 = in.q[q2_offset + policy_offset + i];
      const float value_error = in.values[i] - (std::min(p1, p2) - bonus);
      grad_values[i] = static_cast<float>(value_error * scale);
      value_sum += static_cast<double>(value_error) * value_error;
      grad_q[policy_offset + i] = static_cast<float>(-scale);
      grad_q[q2_offset + policy_offset + i] = 0.0f;
      q1_policy += p1;
    }
    policy_sum += bonus - q1_policy / static_cast<double>(signals);
    entropy_gap += static_cast<double>(log_prob) + in.target_entropy;
  }
  out.q1 = 0.5 * q1_sum * scale;
  out.q2 = 0.5 * q2_sum * scale;
  out.value = 0.5 * value_sum * scale;
  out.policy = policy_sum / static_cast<double>(rows);
  out.grad_log_alpha = -entropy_gap / static_cast<double>(rows);
  return out;
}

}  // namespace mlaf
