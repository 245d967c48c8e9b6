// MultiAgentEnvironment (ML-Agents' simple_test_envs.py): num_agents agents of the
// SimpleEnvironment game per copy, all in one group (group id 1 + copy index, so copies
// never share a group). Each agent plays its own game, in slot order:
// - an agent that finishes before the others ends its episode with reward
//   min(-0.01, reward) and starts its next one at once, then sits out: it asks for no
//   decision (`absent`), its actions are ignored and its reward is 0 until the whole
//   group has finished;
// - the agent that finishes last gets reward 0 and carries its reward as the group
//   reward; after that step every agent plays again.
// Agents draw their goals from the copy's generator in the order they finish (slot
// order within a step), as the Python rules do.
//
// The group rule couples the agents of a copy, so this is its own VecEnv rather than
// a VecEnvOf<Env>; the per-agent rules are Simple's.
#pragma once

#include <algorithm>
#include <vector>

#include "mlaf/envs/simple.h"
#include "mlaf/envs/vec_env.h"

namespace mlaf::envs {

class MultiAgentVecEnv final : public VecEnv {
 public:
  MultiAgentVecEnv(Simple rules, int num_envs, int num_threads)
      : VecEnv(rules.info(), num_envs, num_threads),
        rules_(std::move(rules)),
        agents_(static_cast<std::size_t>(num_slots())),
        waiting_(agents_.size(), 0),
        running_return_(agents_.size(), 0.0),
        running_length_(agents_.size(), 0) {
    for (int slot = 0; slot < num_slots(); ++slot)
      arrays_.group_id[slot] = 1 + slot / info_.agents_per_env;
  }

 protected:
  void reset_copy(int env) override {
    for (int slot = first(env); slot < first(env + 1); ++slot) {
      waiting_[slot] = 0;
      arrays_.absent[slot] = 0;
      begin_episode(env, slot);
      arrays_.reward[slot] = arrays_.group_reward[slot] = 0.0f;
      arrays_.terminated[slot] = arrays_.truncated[slot] = 0;
      arrays_.episode_return[slot] = 0.0f;
      arrays_.episode_length[slot] = 0;
      observe(slot, arrays_.obs);
    }
  }

  void step_copy(int env) override {
    const int continuous = info_.continuous_size;
    const int branches = static_cast<int>(info_.discrete_branches.size());
    int finished = 0;
    for (int slot = first(env); slot < first(env + 1); ++slot) finished += waiting_[slot];
    for (int slot = first(env); slot < first(env + 1); ++slot) {
      float reward = 0.0f, group_reward = 0.0f;
      bool done = false;
      if (!waiting_[slot]) {
        Simple::Agent& agent = agents_[slot];
        const AgentAction action{
            arrays_.continuous.data() + static_cast<std::size_t>(slot) * continuous,
            arrays_.discrete.data() + static_cast<std::size_t>(slot) * branches};
        done = rules_.move(agent, action);
        reward = static_cast<float>(rules_.reward(agent, done));
        if (done) {
          waiting_[slot] = 1;
          if (++finished == info_.agents_per_env) {
            group_reward = reward;
            reward = 0.0f;
          } else {
            reward = std::min(static_cast<float>(-Simple::kTimePenalty), reward);
          }
        }
      }
      arrays_.reward[slot] = reward;
      arrays_.group_reward[slot] = group_reward;
      arrays_.terminated[slot] = done;
      arrays_.truncated[slot] = 0;
      running_return_[slot] += reward;
      running_length_[slot] += 1;
      if (done) {
        observe(slot, arrays_.terminal_obs);
        arrays_.episode_return[slot] = static_cast<float>(running_return_[slot]);
        arrays_.episode_length[slot] = running_length_[slot];
        begin_episode(env, slot);
      }
      observe(slot, arrays_.obs);
    }
    if (finished == info_.agents_per_env) {
      for (int slot = first(env); slot < first(env + 1); ++slot) waiting_[slot] = 0;
    }
    for (int slot = first(env); slot < first(env + 1); ++slot) {
      arrays_.absent[slot] = waiting_[slot];
    }
  }

 private:
  int first(int env) const { return env * info_.agents_per_env; }

  void begin_episode(int env, int slot) {
    rules_.begin_episode(agents_[slot], copy_rng(env), nullptr);
    running_return_[slot] = 0.0;
    running_length_[slot] = 0;
  }

  void observe(int slot, std::vector<std::vector<float>>& target) {
    float* rows[kMaxObservations];
    for (std::size_t k = 0; k < target.size(); ++k) {
      rows[k] = target[k].data() + static_cast<std::size_t>(slot) * info_.observations[k].size();
    }
    rules_.observe(agents_[slot], rows);
    if (!arrays_.action_mask.empty()) {
      rules_.write_mask(agents_[slot], arrays_.action_mask.data() +
                                           static_cast<std::size_t>(slot) * info_.mask_width());
    }
  }

  Simple rules_;
  std::vector<Simple::Agent> agents_;
  std::vector<std::uint8_t> waiting_;
  // Summed in double, as ML-Agents' AgentProcessor sums an episode's rewards in Python floats
  // (1000 rewards of 0.1f make 100.000, not float32's 99.999).
  std::vector<double> running_return_;
  std::vector<std::int32_t> running_length_;
};

}  // namespace mlaf::envs
