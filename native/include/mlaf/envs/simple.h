// ML-Agents' test environments (trainers/tests/simple_test_envs.py): the rules of one
// agent of SimpleEnvironment, MemoryEnvironment and MultiAgentEnvironment.
//
// The game: one position per action dimension (continuous ones first, then one per
// discrete branch of two), starting at 0 and clamped to [-1, 1], and a goal of -1 or +1
// drawn per episode (rng.below(2): 0 -> -1, 1 -> +1). A continuous action moves its
// position by the action clamped to +-step_size; a discrete branch moves its position by
// +1 (choice 1) or -1 (choice 0), clamped the same way. The episode ends when every
// position sits at -1 or +1. Reward -0.01 per step; on the last step the mean over
// positions of 1.06 * position * goal (SUCCESS_REWARD = 1 + 6 * 0.01). No MaxStep.
//
// Every observation (vector, visual, variable length) is filled with the goal;
// MemoryEnvironment shows it only while at most `num_show_steps` position updates were
// made (one per action dimension per step), then 0. MultiAgentEnvironment's group rules
// live in multi_agent.h; it uses these rules for each agent.
//
// SimpleEnvironment and MemoryEnvironment read the environment parameter `step_size` at each
// episode begin (a curriculum's lessons change it); the option is its default, and a value
// that is not a positive number keeps the option's. MultiAgentEnvironment reads none.
//
// Options (all numbers): continuous_size (1), discrete_size (0), step_size (0.2) and
// - SimpleEnvironment, MultiAgentEnvironment: num_vector (1), num_visual (0),
//   num_var_len (0), vec_obs_size (1), vis_channels, vis_height, vis_width (3, 20, 20),
//   var_len_entities, var_len_features (10, 5), goal_mask (0: bit i marks observation i,
//   in the order vector, visual, variable length, as a goal signal);
// - MemoryEnvironment: num_show_steps (2);
// - MultiAgentEnvironment: num_agents (2).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

#include "mlaf/envs/env.h"

namespace mlaf::envs {

class Simple {
 public:
  enum class Variant { kSimple, kMemory, kMultiAgent };
  static constexpr int kMaxPositions = 16;
  static constexpr double kTimePenalty = 0.01;
  static constexpr double kSuccessReward = 1.0 + 6 * kTimePenalty;  // 1 + MIN_STEPS * TIME_PENALTY

  struct Agent {
    std::array<double, kMaxPositions> positions;
    int goal;          // -1 or +1
    int step_count;    // position updates this episode
    double step_size;  // this episode's
  };

  Simple(const Options& options, Variant variant) : variant_(variant) {
    static const char* const kNames[] = {"SimpleEnvironment", "MemoryEnvironment",
                                         "MultiAgentEnvironment"};
    const std::string name = kNames[static_cast<int>(variant)];
    std::vector<std::string> known = {"continuous_size", "discrete_size", "step_size"};
    if (variant == Variant::kMemory) {
      known.push_back("num_show_steps");
    } else {
      known.insert(known.end(), {"num_vector", "num_visual", "num_var_len", "vec_obs_size",
                                 "vis_channels", "vis_height", "vis_width", "var_len_entities",
                                 "var_len_features", "goal_mask"});
    }
    if (variant == Variant::kMultiAgent) known.push_back("num_agents");
    check_options(name, options, known);

    continuous_ = whole(name, options, "continuous_size", 1, 0, kMaxPositions);
    discrete_ = whole(name, options, "discrete_size", 0, 0, kMaxPositions);
    if (continuous_ + discrete_ < 1 || continuous_ + discrete_ > kMaxPositions) {
      throw std::invalid_argument(name + " needs from 1 to " + std::to_string(kMaxPositions) +
                                  " action dimensions (continuous_size + discrete_size).");
    }
    step_size_ = option_or(options, "step_size", 0.2);
    if (!(step_size_ > 0.0) || !std::isfinite(step_size_)) {
      throw std::invalid_argument(name + " option 'step_size' must be a positive number.");
    }
    num_show_steps_ = whole(name, options, "num_show_steps", 2, 0, 1 << 30);

    const int num_vector = whole(name, options, "num_vector", 1, 0, kMaxObservations);
    const int num_visual = whole(name, options, "num_visual", 0, 0, kMaxObservations);
    const int num_var_len = whole(name, options, "num_var_len", 0, 0, kMaxObservations);
    if (num_vector + num_visual + num_var_len > kMaxObservations) {
      throw std::invalid_argument(name + " takes at most " + std::to_string(kMaxObservations) +
                                  " observations (num_vector + num_visual + num_var_len).");
    }
    const int vec = whole(name, options, "vec_obs_size", 1, 1, 1 << 20);
    const std::vector<int> visual = {whole(name, options, "vis_channels", 3, 1, 64),
                                     whole(name, options, "vis_height", 20, 1, 1024),
                                     whole(name, options, "vis_width", 20, 1, 1024)};
    const std::vector<int> var_len = {whole(name, options, "var_len_entities", 10, 1, 1 << 16),
                                      whole(name, options, "var_len_features", 5, 1, 1 << 16)};
    const int goal_mask = whole(name, options, "goal_mask", 0, 0, (1 << kMaxObservations) - 1);

    info_.behavior = name;
    info_.agents_per_env =
        variant == Variant::kMultiAgent ? whole(name, options, "num_agents", 2, 1, 1 << 16) : 1;
    std::vector<std::vector<int>> shapes(static_cast<std::size_t>(num_vector),
                                         std::vector<int>{vec});
    shapes.insert(shapes.end(), static_cast<std::size_t>(num_visual), visual);
    shapes.insert(shapes.end(), static_cast<std::size_t>(num_var_len), var_len);
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      std::string text;
      for (int d : shapes[i]) text += (text.empty() ? "" : ", ") + std::to_string(d);
      if (shapes[i].size() == 1) text += ",";
      info_.observations.push_back(
          {shapes[i], ((goal_mask >> i) & 1) != 0,
           "observation " + std::to_string(i) + " with shape (" + text + ")"});
    }
    info_.continuous_size = continuous_;
    info_.discrete_branches.assign(static_cast<std::size_t>(discrete_), 2);
    if (variant != Variant::kMultiAgent) {
      info_.parameter_names = {"step_size"};
      info_.parameter_defaults = {step_size_};
    }
  }

  const EnvInfo& info() const { return info_; }

  // `parameters`: this episode's step_size, or null (MultiAgentEnvironment) for the option's.
  void begin_episode(Agent& a, Rng& rng, const double* parameters) const {
    a.goal = rng.below(2) == 0 ? -1 : 1;
    a.positions.fill(0.0);
    a.step_count = 0;
    const double wanted = parameters != nullptr ? parameters[0] : step_size_;
    a.step_size = std::isfinite(wanted) && wanted > 0.0 ? wanted : step_size_;
  }

  // Moves every position; true when each one reached an end.
  bool move(Agent& a, const AgentAction& action) const {
    for (int i = 0; i < continuous_; ++i) shift(a, i, static_cast<double>(action.continuous[i]));
    for (int b = 0; b < discrete_; ++b)
      shift(a, continuous_ + b, action.discrete[b] != 0 ? 1.0 : -1.0);
    a.step_count += continuous_ + discrete_;
    for (int i = 0; i < continuous_ + discrete_; ++i) {
      if (a.positions[static_cast<std::size_t>(i)] < 1.0 &&
          a.positions[static_cast<std::size_t>(i)] > -1.0) {
        return false;
      }
    }
    return true;
  }

  // The reward of a step that ended (`done`) or not, in double as the Python rules compute it.
  double reward(const Agent& a, bool done) const {
    if (!done) return -kTimePenalty;
    const int n = continuous_ + discrete_;
    double total = 0.0;
    for (int i = 0; i < n; ++i)
      total += kSuccessReward * a.positions[static_cast<std::size_t>(i)] * a.goal / n;
    return total;
  }

  bool tick(Agent& a, const AgentAction& action, float& reward_out) const {
    const bool done = move(a, action);
    reward_out = static_cast<float>(reward(a, done));
    return done;
  }

  void observe(const Agent& a, float* const* obs) const {
    const bool shown = variant_ != Variant::kMemory || a.step_count <= num_show_steps_;
    const float value = shown ? static_cast<float>(a.goal) : 0.0f;
    for (std::size_t k = 0; k < info_.observations.size(); ++k) {
      std::fill(obs[k], obs[k] + info_.observations[k].size(), value);
    }
  }

  void write_mask(const Agent&, std::uint8_t* mask) const {
    std::fill(mask, mask + 2 * discrete_, 0);
  }

 private:
  void shift(Agent& a, int i, double delta) const {
    double& p = a.positions[static_cast<std::size_t>(i)];
    p = std::clamp(p + std::clamp(delta, -a.step_size, a.step_size), -1.0, 1.0);
  }

  // An option that must be a whole number in [low, high].
  static int whole(const std::string& env, const Options& options, const std::string& key,
                   int fallback, int low, int high) {
    const double value = option_or(options, key, fallback);
    if (!(value >= low && value <= high) || value != std::floor(value)) {
      throw std::invalid_argument(env + " option '" + key + "' must be a whole number from " +
                                  std::to_string(low) + " to " + std::to_string(high) + ".");
    }
    return static_cast<int>(value);
  }

  Variant variant_;
  int continuous_ = 1, discrete_ = 0;
  double step_size_ = 0.2;
  int num_show_steps_ = 2;
  EnvInfo info_;
};

}  // namespace mlaf::envs
