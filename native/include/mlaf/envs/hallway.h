// Hallway (ML-Agents' Examples/Hallway, the memory example), top-down in two dimensions: a room
// 19 wide and 49.5 long (x in [-9.5, 9.5], z in [-24.75, 24.75] inside its walls) holds a block
// with a symbol, O or X, drawn each episode, somewhere in its middle; at the far end lie two goals,
// an O and an X, their sides drawn each episode. Touching the goal that matches the symbol pays
// +1, the other -0.1; either ends the episode. Every physics step costs 1/3000 (MaxStep 3000), so
// the agent must see the symbol, remember it while it walks on (the symbol drops out of sight),
// and choose.
//
// Each episode (HallwayAgent.OnEpisodeBegin): the symbol (O or X, even odds) a 4 x 1 block at
// x U(-3, 3) for O or 0 for X, z U(-5, 5); the agent (a disc of radius 0.5 for the 1 x 1 cube)
// at x U(-3, 3), z -15 + U(-5, 5), a uniform heading; the O goal at x +7 or -7 (even odds), the
// X goal at the other. A goal is its 4 x 4 pad at z 22.29 and the marker behind it against the
// end wall: one box x +-2 around its centre, z from 20.29 to the wall.
//
// One branch of 5 actions, repeated on each of the 6 physics steps (0.02 s) of a decision: 0
// nothing, 1 forward, 2 backward (a velocity change of 1.5, the scene's agentRunSpeed), 3 turn
// right 3 degrees (150/s), 4 turn left. The velocity decays as PhysX damps it, v / (1 + 2 dt)
// (drag 2), then by friction 0.6 g dt (the scene doubles gravity: g = 19.62).
//
// Observations, each stacked over the last 3 decisions (oldest first, zeros before the first):
// a RayPerceptionSensor3D of 5 rays (2 per direction, at most 70 degrees from forward, ML-Agents'
// order: 0, then +-35, +-70), length 12, sphere casts of radius 0.5 as rays against the boxes
// grown by 0.5; tags symbol_O_Goal, symbol_X_Goal, symbol_O, symbol_X, wall; per ray the tag's
// one-hot, 1 if nothing was hit, the hit fraction (1 on a miss): 35 floats a decision. And the
// vector sensor's StepCount / MaxStep: 1 float a decision.
#pragma once

#include <algorithm>
#include <cmath>

#include "mlaf/envs/env.h"

namespace mlaf::envs {

class Hallway {
 public:
  static constexpr double kHalfWidth = 9.5, kHalfLength = 24.75;
  static constexpr double kAgentRadius = 0.5;
  static constexpr double kSymbolHalfX = 2.0, kSymbolHalfZ = 0.5;
  static constexpr double kGoalX = 7.0, kGoalHalfX = 2.0, kGoalNear = 20.29;
  static constexpr double kGoalHalfZ = (kHalfLength - kGoalNear) / 2.0;
  static constexpr double kGoalZ = kGoalNear + kGoalHalfZ;
  static constexpr double kRunSpeed = 1.5, kTurnDegrees = 150.0 * kFixedDeltaTime, kDrag = 2.0;
  static constexpr double kFriction = 0.6, kGravity = 2.0 * 9.81;
  static constexpr double kRayLength = 12.0, kRayRadius = 0.5, kRayStep = 35.0;
  static constexpr int kRays = 5, kTags = 5, kPerRay = kTags + 2, kFrame = kRays * kPerRay;
  static constexpr int kStack = 3;
  static constexpr int kMaxStep = 3000;
  enum Tag { kOGoal = 0, kXGoal = 1, kSymbolO = 2, kSymbolX = 3, kWall = 4, kNothing = 5 };

  struct Agent {
    double x, z, heading;  // heading in degrees, clockwise from +z (forward at 0 is +z)
    double vx, vz;
    int symbol;  // 0: O, 1: X
    double symbol_x, symbol_z;
    double o_goal_x;  // the X goal is at -o_goal_x
    int steps;        // physics steps this episode (the agent's StepCount)
    float rays[kStack * kFrame];
    float step_fractions[kStack];
  };

  explicit Hallway(const Options& options) {
    check_options("Hallway", options, {"areas"});
    info_.behavior = "Hallway";
    info_.agents_per_env = areas_option("Hallway", options, 16);
    info_.observations = {{{kStack * kFrame}, false, "StackingSensor_size3_RayPerceptionSensor"},
                          {{kStack}, false, "StackingSensor_size3_VectorSensor_size1"}};
    info_.discrete_branches = {5};
    info_.max_step = kMaxStep;
    info_.decision_period = 6;
  }

  const EnvInfo& info() const { return info_; }

  void begin_episode(Agent& a, Rng& rng, const double*) const {
    a.symbol = static_cast<int>(rng.below(2));
    a.symbol_x = a.symbol == 0 ? uniform(rng, -3.0, 3.0) : 0.0;
    a.symbol_z = uniform(rng, -5.0, 5.0);
    a.x = uniform(rng, -3.0, 3.0);
    a.z = -15.0 + uniform(rng, -5.0, 5.0);
    a.heading = uniform(rng, 0.0, 360.0);
    a.vx = a.vz = 0.0;
    a.o_goal_x = rng.below(2) == 0 ? kGoalX : -kGoalX;
    a.steps = 0;
    std::fill(a.rays, a.rays + kStack * kFrame, 0.0f);
    std::fill(a.step_fractions, a.step_fractions + kStack, 0.0f);
  }

  bool tick(Agent& a, const AgentAction& action, float& reward) const {
    drive(action.discrete[0], a.x, a.z, a.heading, a.vx, a.vz, kRunSpeed, kTurnDegrees, kDrag,
          kFriction * kGravity * kFixedDeltaTime);
    a.steps += 1;
    reward += static_cast<float>(-1.0 / kMaxStep);
    keep_within(a.x, a.z, a.vx, a.vz, kHalfWidth - kAgentRadius, kHalfLength - kAgentRadius);
    push_disc_out_of_box(a.x, a.z, a.vx, a.vz, kAgentRadius, a.symbol_x, a.symbol_z, kSymbolHalfX,
                         kSymbolHalfZ);
    for (int goal = 0; goal < 2; ++goal) {  // 0: the O goal, 1: the X goal
      const double cx = goal == 0 ? a.o_goal_x : -a.o_goal_x;
      if (push_disc_out_of_box(a.x, a.z, a.vx, a.vz, kAgentRadius, cx, kGoalZ, kGoalHalfX,
                               kGoalHalfZ)) {
        reward = goal == a.symbol ? 1.0f : -0.1f;
        return true;
      }
    }
    return false;
  }

  void observe(Agent& a, float* const* obs) const {
    std::copy(a.rays + kFrame, a.rays + kStack * kFrame, a.rays);
    float* frame = a.rays + (kStack - 1) * kFrame;
    for (int r = 0; r < kRays; ++r) {
      const int k = (r + 1) / 2;  // 0, 1, 1, 2, 2
      const double offset = r == 0 ? 0.0 : (r % 2 == 1 ? k * kRayStep : -k * kRayStep);
      double fraction = 1.0;
      const int tag = cast(a, (a.heading + offset) * kDegToRad, fraction);
      write_ray(frame + r * kPerRay, kTags, tag == kNothing ? -1 : tag, fraction);
    }
    std::copy(a.rays, a.rays + kStack * kFrame, obs[0]);
    std::copy(a.step_fractions + 1, a.step_fractions + kStack, a.step_fractions);
    a.step_fractions[kStack - 1] = static_cast<float>(a.steps) / static_cast<float>(kMaxStep);
    std::copy(a.step_fractions, a.step_fractions + kStack, obs[1]);
  }

  void write_mask(const Agent&, std::uint8_t*) const {}

 private:
  static constexpr double kDegToRad = 3.14159265358979323846 / 180.0;

  // The first thing a sphere cast along `angle` meets; the fraction of the length where.
  static int cast(const Agent& a, double angle, double& fraction) {
    const double dx = std::sin(angle) * kRayLength, dz = std::cos(angle) * kRayLength;
    int tag = kNothing;
    double best = 1.0;
    auto consider = [&](double cx, double cz, double hx, double hz, int what) {
      double enter = 0.0;
      if (ray_enters_box(a.x - cx, a.z - cz, dx, dz, hx + kRayRadius, hz + kRayRadius, enter) &&
          enter <= best) {
        best = enter, tag = what;
      }
    };
    // The walls: a ray leaving the room meets one (grown inwards by the cast's radius).
    const double wall_x = kHalfWidth - kRayRadius, wall_z = kHalfLength - kRayRadius;
    auto wall_at = [&](double t) {
      if (t >= 0.0 && t <= best) best = t, tag = kWall;
    };
    if (dx > 0.0) wall_at((wall_x - a.x) / dx);
    if (dx < 0.0) wall_at((-wall_x - a.x) / dx);
    if (dz > 0.0) wall_at((wall_z - a.z) / dz);
    if (dz < 0.0) wall_at((-wall_z - a.z) / dz);
    consider(a.symbol_x, a.symbol_z, kSymbolHalfX, kSymbolHalfZ,
             a.symbol == 0 ? kSymbolO : kSymbolX);
    consider(a.o_goal_x, kGoalZ, kGoalHalfX, kGoalHalfZ, kOGoal);
    consider(-a.o_goal_x, kGoalZ, kGoalHalfX, kGoalHalfZ, kXGoal);
    fraction = best;
    return tag;
  }

  EnvInfo info_;
};

}  // namespace mlaf::envs
