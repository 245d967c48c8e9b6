// The action and value heads of ML-Agents' PPO loss, with their gradients, in
// one pass over a minibatch.
//
// Given the heads' outputs (Gaussian means, discrete logits, values), the taken
// actions and the rollout's old log-probabilities, advantages, old values and
// returns, this forms
//   loss = policy_loss + 0.5 * value_loss - beta * mean(entropy)
// with ML-Agents' definitions (per-action-dimension ratios clipped to
// [1 - epsilon, 1 + epsilon], value estimates clipped to +-epsilon around the
// old ones, blocked discrete choices at logit -1e8, a row's entropy the Gaussian's
// mean over its dimensions plus each branch's) and writes d loss / d mu,
// d loss / d log_sigma, d loss / d logits and d loss / d values. The networks'
// matrix products stay outside (the caller's); this replaces the few dozen
// small element-wise operations between them.
//
// Layouts are row-major float32: B rows, C continuous dimensions, D discrete
// branches whose logits are L = sum(branch sizes) wide, S value heads.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mlaf {

struct PPOHeadShape {
  std::size_t rows = 0;                    // B
  std::size_t continuous = 0;              // C
  const std::int64_t* branches = nullptr;  // D branch sizes
  std::size_t num_branches = 0;            // D
  std::size_t logits_width = 0;            // L
  std::size_t signals = 0;                 // S
};

struct PPOHeadInputs {
  const float* mu = nullptr;               // [B, C] Gaussian means
  const float* log_sigma = nullptr;        // [C]
  const float* continuous = nullptr;       // [B, C] taken (unclipped) continuous actions
  const float* logits = nullptr;           // [B, L] raw logits
  const std::uint8_t* blocked = nullptr;   // [B, L] nonzero = masked choice, or nullptr
  const std::int32_t* discrete = nullptr;  // [B, D] taken choices
  const float* old_log_probs = nullptr;    // [B, C + D]
  const float* advantages = nullptr;       // [B]
  const float* values = nullptr;           // [B, S] current value estimates (rows)
  const float* old_values = nullptr;       // [S, B]
  const float* returns = nullptr;          // [S, B]
};

struct PPOHeadGrads {
  float* mu = nullptr;         // [B, C]
  float* log_sigma = nullptr;  // [C]
  float* logits = nullptr;     // [B, L]
  float* values = nullptr;     // [B, S]
};

struct PPOLosses {
  double policy = 0.0;   // policy_loss
  double value = 0.0;    // value_loss (before the 0.5)
  double entropy = 0.0;  // mean entropy per row
};

PPOLosses ppo_head_loss(const PPOHeadShape& shape, const PPOHeadInputs& in, float epsilon,
                        float beta, const PPOHeadGrads& grads);

// Acting: sample (or, `deterministic`, take the most likely) actions from the same heads.
// Continuous: mu + normals * sigma (normals [B, C] standard normal draws). Discrete: the
// inverse transform of one uniform draw in [0, 1) per branch (uniforms [B, D]) on the
// cumulative softmax, never a blocked choice; deterministic takes the first largest logit.
struct PPOSampleInputs {
  const float* mu = nullptr;              // [B, C]
  const float* log_sigma = nullptr;       // [C]
  const float* normals = nullptr;         // [B, C], unused when deterministic
  const float* logits = nullptr;          // [B, L]
  const std::uint8_t* blocked = nullptr;  // [B, L] or nullptr
  const float* uniforms = nullptr;        // [B, D], unused when deterministic
};

struct PPOSampleOutputs {
  float* continuous = nullptr;       // [B, C] unclipped
  std::int32_t* discrete = nullptr;  // [B, D]
  float* log_probs = nullptr;        // [B, C + D]
  float* entropy = nullptr;          // [B]
};

// Returns the mean of the rows' entropies.
double ppo_head_sample(const PPOHeadShape& shape, const PPOSampleInputs& in, bool deterministic,
                       const PPOSampleOutputs& out);

}  // namespace mlaf
