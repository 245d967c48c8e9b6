// CartPole with dynamics identical to gymnasium's CartPole-v1 (Euler integration in
// float64, float32 observations), so runs compare side by side with gymnasium and
// EnvPool. Reward 1 on every step including the one that ends the episode; the
// episode terminates when |x| > 2.4 or |theta| > 12 degrees and is interrupted at 500.
#pragma once

#include <cmath>

#include "mlaf/envs/env.h"

namespace mlaf::envs {

class CartPole {
 public:
  struct Agent {
    double x, x_dot, theta, theta_dot;
    double gravity, masscart, masspole, length, force_mag;
  };

  explicit CartPole(const Options& options) {
    check_options("CartPole", options, {});
    info_.behavior = "CartPole";
    info_.observations = {{{4}, false, "VectorSensor"}};
    info_.discrete_branches = {2};
    info_.max_step = 500;
    info_.parameter_names = {"gravity", "masscart", "masspole", "length", "force_mag"};
    info_.parameter_defaults = {9.8, 1.0, 0.1, 0.5, 10.0};
  }

  const EnvInfo& info() const { return info_; }

  void begin_episode(Agent& a, Rng& rng, const double* p) const {
    a.x = uniform(rng, -0.05, 0.05);
    a.x_dot = uniform(rng, -0.05, 0.05);
    a.theta = uniform(rng, -0.05, 0.05);
    a.theta_dot = uniform(rng, -0.05, 0.05);
    a.gravity = p[0];
    a.masscart = p[1];
    a.masspole = p[2];
    a.length = p[3];
    a.force_mag = p[4];
  }

  bool tick(Agent& a, const AgentAction& action, float& reward) const {
    constexpr double kTau = 0.02;
    constexpr double kThetaLimit = 12.0 * 2.0 * M_PI / 360.0;
    constexpr double kXLimit = 2.4;
    // Same operation order as gymnasium, so results match to the last bit.
    // Branch-free: random actions would mispredict a branch half the time. Exact: x * +-1.0.
    const double force = a.force_mag * static_cast<double>(2 * (action.discrete[0] == 1) - 1);
    const double costheta = std::cos(a.theta);
    const double sintheta = std::sin(a.theta);
    const double total_mass = a.masspole + a.masscart;
    const double polemass_length = a.masspole * a.length;
    const double temp =
        (force + polemass_length * (a.theta_dot * a.theta_dot) * sintheta) / total_mass;
    const double thetaacc =
        (a.gravity * sintheta - costheta * temp) /
        (a.length * (4.0 / 3.0 - a.masspole * (costheta * costheta) / total_mass));
    const double xacc = temp - polemass_length * thetaacc * costheta / total_mass;
    a.x = a.x + kTau * a.x_dot;
    a.x_dot = a.x_dot + kTau * xacc;
    a.theta = a.theta + kTau * a.theta_dot;
    a.theta_dot = a.theta_dot + kTau * thetaacc;
    reward = 1.0f;
    return a.x < -kXLimit || a.x > kXLimit || a.theta < -kThetaLimit || a.theta > kThetaLimit;
  }

  void observe(const Agent& a, float* const* obs) const {
    obs[0][0] = static_cast<float>(a.x);
    obs[0][1] = static_cast<float>(a.x_dot);
    obs[0][2] = static_cast<float>(a.theta);
    obs[0][3] = static_cast<float>(a.theta_dot);
  }

  void write_mask(const Agent&, std::uint8_t* mask) const { mask[0] = mask[1] = 0; }

 private:
  EnvInfo info_;
};

}  // namespace mlaf::envs
