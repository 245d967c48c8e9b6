// Basic (ML-Agents' Examples/Basic): a position on a line from 0 to 20 starting at 10,
// a small goal at 7 (+0.1) and a large goal at 17 (+1), -0.01 per step; one discrete
// branch of 3 (0 stay, 1 left, 2 right); one-hot observation of the position (size 20).
// A decision every physics step, no MaxStep. The start is fixed, so episodes do not
// depend on the seed; only the policy's actions do.
#pragma once

#include <algorithm>

#include "mlaf/envs/env.h"

namespace mlaf::envs {

class Basic {
 public:
  static constexpr int kExtent = 20;
  static constexpr int kStart = 10, kSmallGoal = 7, kLargeGoal = 17;

  struct Agent {
    int position;
  };

  explicit Basic(const Options& options) {
    check_options("Basic", options, {});
    info_.behavior = "Basic";
    info_.observations = {{{kExtent}, false, "Basic"}};
    info_.discrete_branches = {3};
  }

  const EnvInfo& info() const { return info_; }

  void begin_episode(Agent& a, Rng&, const double*) const { a.position = kStart; }

  bool tick(Agent& a, const AgentAction& action, float& reward) const {
    const int direction = action.discrete[0] == 1 ? -1 : (action.discrete[0] == 2 ? 1 : 0);
    a.position = std::clamp(a.position + direction, 0, kExtent);
    reward += -0.01f;
    if (a.position == kSmallGoal) {
      reward += 0.1f;
      return true;
    }
    if (a.position == kLargeGoal) {
      reward += 1.0f;
      return true;
    }
    return false;
  }

  void observe(const Agent& a, float* const* obs) const {
    std::fill(obs[0], obs[0] + kExtent, 0.0f);
    if (a.position < kExtent) obs[0][a.position] = 1.0f;
  }

  void write_mask(const Agent&, std::uint8_t* mask) const { std::fill(mask, mask + 3, 0); }

 private:
  EnvInfo info_;
};

}  // namespace mlaf::envs
