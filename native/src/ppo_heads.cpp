#include "mlaf/ppo_heads.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace mlaf {
namespace {

// The constants of the torch networks (networks/actions.py), so both give the same numbers.
constexpr float kEpsilon = 1e-7f;  // inside Gaussian log-probabilities and entropies
constexpr float kMaskPenalty = 1e8f;
constexpr float kHalfLog2Pi = 0.91893853320467274f;
constexpr float kTwoPiE = 17.079468445347132f;

// The clipped surrogate of one action dimension: adds min(r A, clip(r) A) to `sum` and
// returns d policy_loss / d log_prob (only the unclipped term moves with the ratio).
inline float surrogate(float log_prob, float old_log_prob, float advantage, float epsilon,
                       float scale, double& sum) {
  const float ratio = std::exp(log_prob - old_log_prob);
  const float unclipped = ratio * advantage;
  const float clipped = std::clamp(ratio, 1.0f - epsilon, 1.0f + epsilon) * advantage;
  if (unclipped <= clipped) {
    sum += unclipped;
    return -unclipped * scale;
  }
  sum += clipped;
  return 0.0f;
}

// Masked log-softmax of one branch into log_p[0, n); returns its entropy.
inline float masked_log_softmax(const float* z, const std::uint8_t* blocked, std::size_t n,
                                float* log_p) {
  float top = -INFINITY;
  for (std::size_t j = 0; j < n; ++j) {
    log_p[j] = (blocked && blocked[j]) ? -kMaskPenalty : z[j];
    top = std::max(top, log_p[j]);
  }
  float total = 0.0f;
  for (std::size_t j = 0; j < n; ++j) total += std::exp(log_p[j] - top);
  const float shift = top + std::log(total);
  float entropy = 0.0f;
  for (std::size_t j = 0; j < n; ++j) {
    log_p[j] -= shift;
    entropy -= std::exp(log_p[j]) * log_p[j];
  }
  return entropy;
}

std::size_t widest_branch(const PPOHeadShape& shape) {
  std::size_t widest = 0;
  for (std::size_t k = 0; k < shape.num_branches; ++k)
    widest = std::max(widest, static_cast<std::size_t>(shape.branches[k]));
  return widest;
}

// What the Gaussian's rows share (sigma does not depend on the state): per dimension the
// variance and the log-probability's denominator 2 var + eps, and the row's entropy term,
// ML-Agents' mean of the per-dimension entropies.
struct GaussianTerms {
  std::vector<float> variance, denominator;
  float entropy = 0.0f;
};

GaussianTerms gaussian_terms(const float* log_sigma, std::size_t c_size) {
  GaussianTerms terms;
  terms.variance.resize(c_size);
  terms.denominator.resize(c_size);
  for (std::size_t c = 0; c < c_size; ++c) {
    terms.variance[c] = std::exp(2.0f * log_sigma[c]);
    terms.denominator[c] = 2.0f * terms.variance[c] + kEpsilon;
    terms.entropy += 0.5f * std::log(kTwoPiE * terms.variance[c] + kEpsilon);
  }
  if (c_size) terms.entropy /= static_cast<float>(c_size);
  return terms;
}

}  // namespace

double ppo_head_sample(const PPOHeadShape& shape, const PPOSampleInputs& in, bool deterministic,
                       const PPOSampleOutputs& out) {
  const std::size_t c_size = shape.continuous, d_size = shape.num_branches;
  const std::size_t width = shape.logits_width, dims = c_size + d_size;
  const GaussianTerms gaussian = gaussian_terms(in.log_sigma, c_size);
  const std::vector<float>& denominator = gaussian.denominator;
  const float continuous_entropy = gaussian.entropy;
  std::vector<float> sigma(c_size);
  for (std::size_t c = 0; c < c_size; ++c) sigma[c] = std::exp(in.log_sigma[c]);
  std::vector<float> log_p(widest_branch(shape));
  double entropy_sum = 0.0;
  for (std::size_t b = 0; b < shape.rows; ++b) {
    float* log_probs = out.log_probs + b * dims;
    for (std::size_t c = 0; c < c_size; ++c) {
      const std::size_t i = b * c_size + c;
      const float mu = in.mu[i];
      const float x = deterministic ? mu : mu + in.normals[i] * sigma[c];
      out.continuous[i] = x;
      log_probs[c] = -(x - mu) * (x - mu) / denominator[c] - (in.log_sigma[c] + kHalfLog2Pi);
    }
    float row_entropy = continuous_entropy;
    std::size_t offset = 0;
    for (std::size_t k = 0; k < d_size; ++k) {
      const std::size_t n = static_cast<std::size_t>(shape.branches[k]);
      const float* z = in.logits + b * width + offset;
      const std::uint8_t* blocked = in.blocked ? in.blocked + b * width + offset : nullptr;
      row_entropy += masked_log_softmax(z, blocked, n, log_p.data());
      std::size_t choice = 0;
      if (deterministic) {
        for (std::size_t j = 1; j < n; ++j)
          if (log_p[j] > log_p[choice]) choice = j;
      } else {
        // First choice whose cumulative probability exceeds the draw scaled to the total:
        // a blocked choice adds nothing to the sum, so it is never the first to exceed it.
        float total = 0.0f;
        for (std::size_t j = 0; j < n; ++j) total += std::exp(log_p[j]);
        const float draw = in.uniforms[b * d_size + k] * total;
        float cumulative = 0.0f;
        choice = n - 1;
        for (std::size_t j = 0; j < n; ++j) {
          cumulative += std::exp(log_p[j]);
          if (cumulative > draw) {
            choice = j;
            break;
          }
        }
      }
      out.discrete[b * d_size + k] = static_cast<std::int32_t>(choice);
      log_probs[c_size + k] = log_p[choice];
      offset += n;
    }
    out.entropy[b] = row_entropy;
    entropy_sum += row_entropy;
  }
  return shape.rows ? entropy_sum / static_cast<double>(shape.rows) : 0.0;
}

PPOLosses ppo_head_loss(const PPOHeadShape& shape, const PPOHeadInputs& in, float epsilon,
                        float beta, const PPOHeadGrads& grads) {
  const std::size_t rows = shape.rows, c_size = shape.continuous, d_size = shape.num_branches;
  const std::size_t width = shape.logits_width, dims = c_size + d_size;
  PPOLosses losses;
  if (rows == 0) return losses;
  const float policy_scale = 1.0f / static_cast<float>(rows * dims);
  const float entropy_grad = -beta / static_cast<float>(rows);  // d loss / d entropy of one row

  const GaussianTerms gaussian = gaussian_terms(in.log_sigma, c_size);
  const std::vector<float>& variance = gaussian.variance;
  const std::vector<float>& denominator = gaussian.denominator;
  const float continuous_entropy = gaussian.entropy;
  std::vector<double> log_sigma_grad(c_size, 0.0);
  std::vector<float> log_p(widest_branch(shape));

  double policy_sum = 0.0, entropy_sum = 0.0;
  for (std::size_t b = 0; b < rows; ++b) {
    const float advantage = in.advantages[b];
    const float* old = in.old_log_probs + b * dims;
    for (std::size_t c = 0; c < c_size; ++c) {
      const std::size_t i = b * c_size + c;
      const float error = in.continuous[i] - in.mu[i];
      const float log_prob = -error * error / denominator[c] - (in.log_sigma[c] + kHalfLog2Pi);
      const float g = surrogate(log_prob, old[c], advantage, epsilon, policy_scale, policy_sum);
      grads.mu[i] = g * (2.0f * error / denominator[c]);
      const float d2 = denominator[c] * denominator[c];
      log_sigma_grad[c] += g * (4.0f * variance[c] * error * error / d2 - 1.0f);
    }
    float row_entropy = continuous_entropy;
    std::size_t offset = 0;
    for (std::size_t k = 0; k < d_size; ++k) {
      const std::size_t n = static_cast<std::size_t>(shape.branches[k]);
      const float* z = in.logits + b * width + offset;
      const std::uint8_t* blocked = in.blocked ? in.blocked + b * width + offset : nullptr;
      float* grad = grads.logits + b * width + offset;
      const float entropy = masked_log_softmax(z, blocked, n, log_p.data());
      const std::size_t choice = static_cast<std::size_t>(in.discrete[b * d_size + k]);
      const float g =
          surrogate(log_p[choice], old[c_size + k], advantage, epsilon, policy_scale, policy_sum);
      // d log p[choice] / d z = onehot - p;  d entropy / d z = -p (log p + entropy).
      for (std::size_t j = 0; j < n; ++j) {
        const float p = std::exp(log_p[j]);
        float value = -p * (g + entropy_grad * (log_p[j] + entropy));
        if (j == choice) value += g;
        grad[j] = (blocked && blocked[j]) ? 0.0f : value;  // blocked logits are constants
      }
      row_entropy += entropy;
      offset += n;
    }
    entropy_sum += row_entropy;
  }
  for (std::size_t c = 0; c < c_size; ++c) {
    const float from_entropy = entropy_grad * static_cast<float>(rows) /
                               static_cast<float>(c_size) * kTwoPiE * variance[c] /
                               (kTwoPiE * variance[c] + kEpsilon);
    grads.log_sigma[c] = static_cast<float>(log_sigma_grad[c]) + from_entropy;
  }

  // Values: mean over heads and rows of max((R - v)^2, (R - v_clipped)^2), v_clipped within
  // +-epsilon of the old estimate; the gradient includes the loss's factor 0.5.
  const std::size_t signals = shape.signals;
  const float value_scale = 1.0f / static_cast<float>(signals * rows);
  double value_sum = 0.0;
  for (std::size_t s = 0; s < signals; ++s) {
    for (std::size_t b = 0; b < rows; ++b) {
      const float v = in.values[b * signals + s];
      const float old_v = in.old_values[s * rows + b];
      const float ret = in.returns[s * rows + b];
      const float delta = v - old_v;
      const float error = ret - v;
      const float error_clipped = ret - (old_v + std::clamp(delta, -epsilon, epsilon));
      float g;
      if (error * error >= error_clipped * error_clipped) {
        value_sum += static_cast<double>(error) * error;
        g = error;
      } else {
        value_sum += static_cast<double>(error_clipped) * error_clipped;
        g = std::fabs(delta) < epsilon ? error_clipped : 0.0f;
      }
      grads.values[b * signals + s] = -g * value_scale;
    }
  }
  losses.policy = -policy_sum / static_cast<double>(rows * dims);
  losses.value = value_sum / static_cast<double>(signals * rows);
  losses.entropy = entropy_sum / static_cast<double>(rows);
  return losses;
}

}  // namespace mlaf
