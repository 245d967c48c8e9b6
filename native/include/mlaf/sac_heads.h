// SAC's squashed-Gaussian policy head and its four losses, for continuous actions,
// with their gradients: the element-wise work of one SAC gradient step between the
// networks' matrix products (which stay the caller's).
//
// The head (ML-Agents' conditional sigma with tanh squashing): log sigma is the raw
// output clamped to [-20, 2], u = mu + noise * sigma, the action tanh(u), and a
// dimension's log-probability the Gaussian's at u with the tanh correction,
//   -(u - mu)^2 / (2 sigma^2 + 1e-7) - log sigma - log(2 pi) / 2 - 2 (log 2 - u - softplus(-2u)).
//
// The losses, as ML-Agents' TorchSACOptimizer, over B rows and S reward signals; Q1 and
// Q2 are evaluated on 2B rows, the stored actions' then the policy's:
//   backup    = reward + gamma (1 - done) V_target(next)
//   Q losses  = 0.5 mean (Q(stored) - backup)^2
//   value     = 0.5 mean (V - (min(Q1, Q2)(policy) - alpha sum log p))^2
//   policy    = mean (alpha sum log p - mean over signals Q1(policy))
//   entropy   = -mean(log alpha (sum log p + target entropy))
// Row-major float32 throughout; sums in double.
#pragma once

#include <cstddef>

namespace mlaf {

// action = tanh(u) [B, C]; log_prob_sums [B] = each row's summed log-probability.
void sac_squash_forward(std::size_t rows, std::size_t dims, const float* mu,
                        const float* raw_log_sigma, const float* noise, float* action,
                        float* log_prob_sums);

// From d loss / d action [B, C] and d loss / d log-probability (the same for every
// entry), d loss / d mu and d loss / d raw log sigma [B, C] (none where the clamp holds).
void sac_squash_backward(std::size_t rows, std::size_t dims, const float* mu,
                         const float* raw_log_sigma, const float* noise, const float* grad_action,
                         float grad_log_prob, float* grad_mu, float* grad_raw_log_sigma);

struct SACLossInputs {
  const float* q = nullptr;              // [2, 2B, S]: Q1 and Q2, stored rows then policy rows
  const float* values = nullptr;         // [B, S] V of the observations
  const float* next_values = nullptr;    // [B, S] the target's V of the next observations
  const float* rewards = nullptr;        // [S, B] each signal's reward, strength applied
  const float* done = nullptr;           // [B] 1 where the episode terminated
  const float* gammas = nullptr;         // [S]
  const float* log_prob_sums = nullptr;  // [B]
  float alpha = 0.0f;                    // the entropy coefficient, exp(log alpha)
  float target_entropy = 0.0f;
};

struct SACLosses {
  double policy = 0.0, value = 0.0, q1 = 0.0, q2 = 0.0;
  double grad_log_alpha = 0.0;  // d entropy loss / d log alpha
};

// Writes d loss / d Q [2, 2B, S] (the Q losses' on stored rows; the policy loss's on Q1's
// policy rows, none on Q2's) and d loss / d V [B, S].
SACLosses sac_losses(std::size_t rows, std::size_t signals, const SACLossInputs& in, float* grad_q,
                     float* grad_values);

}  // namespace mlaf
