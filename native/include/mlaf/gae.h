// Generalized advantage estimation and discounted returns over rollouts.
//
// Rollout arrays are time-major: element (s, t, n) of a [S, T, N] block is at
// s*T*N + t*N + n, where S is the number of reward signals, T the number of
// steps and N the number of agents. Episode-end flags are shared by all
// signals and laid out [T, N].
//
// Bootstrapping follows ML-Agents: a terminated step never bootstraps; a
// truncated (interrupted) step bootstraps from the value of its final
// observation; the last step of the rollout bootstraps from `bootstrap`.
// When a step is both terminated and truncated, termination wins.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mlaf {

struct RolloutShape {
  std::size_t signals;  // S
  std::size_t steps;    // T
  std::size_t agents;   // N
};

struct RolloutInputs {
  const float* rewards;            // [S, T, N]
  const float* values;             // [S, T, N]; value estimate of each step's observation
  const float* bootstrap;          // [S, N]; value of the observation after the last step
  const float* truncated_values;   // [S, T, N] or nullptr when no step is truncated
  const std::uint8_t* terminated;  // [T, N]; nonzero = episode ended in a terminal state
  const std::uint8_t* truncated;   // [T, N]; nonzero = episode cut (max step / interrupted)
};

// advantages and returns are [S, T, N]; returns = advantages + values.
// gammas has S entries.
void gae(const RolloutShape& shape, const RolloutInputs& in, const float* gammas, float lambd,
         float* advantages, float* returns);

// gae() on agents [begin, end) only, on the calling thread; gae() splits a
// large call into such blocks over the kernel threads (mlaf/parallel.h).
void gae_agents(const RolloutShape& shape, const RolloutInputs& in, const float* gammas,
                float lambd, float* advantages, float* returns, std::size_t begin, std::size_t end);
// How many blocks gae() splits a call of this shape into with `threads` threads.
std::size_t gae_chunks(const RolloutShape& shape, int threads);

// Discounted sum of rewards with the same bootstrapping rules. returns is [S, T, N].
void discounted_returns(const RolloutShape& shape, const RolloutInputs& in, const float* gammas,
                        float* returns);

// True if any of `count` flags is nonzero. Used to insist on truncated_values
// when some step is truncated; an OR over all bytes, so it vectorizes.
bool any_flag_set(const std::uint8_t* flags, std::size_t count);

// Per-trajectory forms (one agent, T steps, no episode end inside), as in
// ML-Agents' trajectory processing: value_next is 0 for a terminated
// trajectory and the next observation's value otherwise.
void gae_trajectory(const float* rewards, const float* values, std::size_t steps, float value_next,
                    float gamma, float lambd, float* advantages);
void discount_rewards(const float* rewards, std::size_t steps, float gamma, float value_next,
                      float* returns);

// Trajectories laid one after another: `closes` [M] is nonzero at each trajectory's last step
// (the last step closes one in any case). count_trajectories() gives their number K;
// trajectory_means() writes the mean of each one's `values` [S, M] into `means` [S, K],
// summed in double in step order.
std::size_t count_trajectories(const std::uint8_t* closes, std::size_t steps);
void trajectory_means(const float* values, std::size_t signals, std::size_t steps,
                      const std::uint8_t* closes, std::size_t trajectories, double* means);

}  // namespace mlaf
