// Pyramids (ML-Agents' Examples/Pyramids, the curiosity example), top-down in two dimensions:
// the agent presses a switch, which raises a pyramid of bricks somewhere in the room; knocking
// the pyramid over drops the gold brick from its top, and touching the gold pays +2 and ends
// the episode. Every physics step costs 1/5000 (MaxStep 5000; ML-Agents' docs say 0.001).
//
// The room is 100 x 100 (x, z in [-50, 50]) with walls around it (the scene's inner walls are
// left out). Nine spawn areas of 25 x 25 lie on a 3 x 3 grid (centres -30, 0, 30); each episode
// a random order of them places the agent (a disc of radius 0.5 for the 1 x 1 cube, a uniform
// heading in whole degrees), the switch (a 4 x 4 square), the brick pyramid (hidden until the
// switch is pressed) and six stone pyramids (4 x 4 squares), each at a uniform point within
// 11.905 of its area's centre (Unity's spawn.localScale / 2.1). Touching the switch while it is
// off turns it on and raises the brick pyramid (a 4 x 4 square, 6 high, the gold on top). Running
// into the standing pyramid at 3 units/s or more knocks it over: its bricks scatter (out of the
// way) and the gold (a 2 x 2 square) drops 3 units on in the push's direction. Touching the gold:
// +2, the episode ends.
//
// One branch of 5 actions, repeated on each of the 5 physics steps (0.02 s) of a decision: 0
// nothing, 1 forward, 2 backward (a velocity change of 2), 3 turn right 4 degrees (200/s), 4 turn
// left. The velocity decays as PhysX damps it, v / (1 + 2 dt) (drag 2), then by friction 0.6 g dt.
//
// Observations: three RayPerceptionSensor3D of 7 rays (3 per direction, at most 70, 65 and 75
// degrees from forward, ML-Agents' order: 0, then +-1, +-2, +-3 steps), length 35, sphere casts
// of radius 0.5 as rays against the squares grown by 0.5, rising 0, 5 and 10 over their length
// from the agent's centre (0.5 high): a ray passes over an obstacle lower than it where it would
// enter. Tags block, wall, goal, switchOff, switchOn, stone; per ray the tag's one-hot, 1 if
// nothing was hit, the hit fraction (1 on a miss): 56 floats a sensor. Then the switch's state
// and the agent's velocity in its own frame (right, up, forward): 4 floats.
#pragma once

#include <algorithm>
#include <cmath>

#include "mlaf/envs/env.h"

namespace mlaf::envs {

class Pyramids {
 public:
  static constexpr double kHalfRoom = 50.0;
  static constexpr double kAreaSpacing = 30.0, kAreaRange = 25.0 / 2.1;
  static constexpr double kAgentRadius = 0.5, kAgentHeight = 0.5;
  static constexpr double kSwitchHalf = 2.0, kStoneHalf = 2.0, kPyramidHalf = 2.0, kGoldHalf = 1.0;
  static constexpr double kSwitchHeight = 4.0, kStoneHeight = 5.0, kPyramidHeight = 6.0;
  static constexpr double kGoldHeight = 2.0, kWallHeight = 5.0;
  static constexpr double kRunSpeed = 2.0, kTurnDegrees = 200.0 * kFixedDeltaTime, kDrag = 2.0;
  static constexpr double kFriction = 0.6, kGravity = 9.81;
  static constexpr double kToppleSpeed = 3.0, kGoldDrop = 3.0;
  static constexpr double kRayLength = 35.0, kRayRadius = 0.5;
  static constexpr int kRays = 7, kTags = 6, kPerRay = kTags + 2, kSensors = 3;
  static constexpr int kFrame = kRays * kPerRay;
  static constexpr int kStones = 6;
  static constexpr int kMaxStep = 5000;
  enum Tag {
    kBlock = 0,
    kWall = 1,
    kGoal = 2,
    kSwitchOff = 3,
    kSwitchOn = 4,
    kStone = 5,
    kNothing = 6
  };
  enum Stage { kSwitchWaits = 0, kPyramidStands = 1, kGoldDown = 2 };

  struct Agent {
    double x, z, heading;  // heading in degrees, clockwise from +z (forward at 0 is +z)
    double vx, vz;
    double switch_x, switch_z;
    double pyramid_x,
        pyramid_z;  // where the brick pyramid stands (or will rise: drawn at the start)
    double gold_x, gold_z;
    double stones[kStones][2];
    int stage;
  };

  explicit Pyramids(const Options& options) {
    check_options("Pyramids", options, {"areas"});
    const int areas = areas_option("Pyramids", options, 16);
    info_.behavior = "Pyramids";
    info_.agents_per_env = static_cast<int>(areas);
    info_.observations = {{{kFrame}, false, "RayPerceptionSensor"},
                          {{kFrame}, false, "RayPerceptionSensor1"},
                          {{kFrame}, false, "RayPerceptionSensor2"},
                          {{4}, false, "VectorSensor_size4"}};
    info_.discrete_branches = {5};
    info_.max_step = kMaxStep;
    info_.decision_period = 5;
  }

  const EnvInfo& info() const { return info_; }

  void begin_episode(Agent& a, Rng& rng, const double*) const {
    int order[9] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
    for (int i = 8; i > 0; --i) {  // Fisher-Yates
      const int j = static_cast<int>(rng.below(static_cast<std::uint64_t>(i + 1)));
      std::swap(order[i], order[j]);
    }
    place(rng, order[0], a.x, a.z);
    a.heading = static_cast<double>(rng.below(360));
    a.vx = a.vz = 0.0;
    place(rng, order[1], a.switch_x, a.switch_z);
    place(rng, order[2], a.pyramid_x, a.pyramid_z);
    for (int s = 0; s < kStones; ++s) place(rng, order[3 + s], a.stones[s][0], a.stones[s][1]);
    a.gold_x = a.gold_z = 0.0;
    a.stage = kSwitchWaits;
  }

  bool tick(Agent& a, const AgentAction& action, float& reward) const {
    drive(action.discrete[0], a.x, a.z, a.heading, a.vx, a.vz, kRunSpeed, kTurnDegrees, kDrag,
          kFriction * kGravity * kFixedDeltaTime);
    reward += static_cast<float>(-1.0 / kMaxStep);
    // Contacts: the walls, the stones, the switch, the pyramid, the gold.
    keep_within(a.x, a.z, a.vx, a.vz, kHalfRoom - kAgentRadius, kHalfRoom - kAgentRadius);
    for (int s = 0; s < kStones; ++s)
      push_out(a, a.stones[s][0], a.stones[s][1], kStoneHalf, nullptr);
    double approach = 0.0;
    if (push_out(a, a.switch_x, a.switch_z, kSwitchHalf, &approach) && a.stage == kSwitchWaits) {
      a.stage = kPyramidStands;
    }
    if (a.stage == kPyramidStands) {
      double nx = 0.0, nz = 0.0;
      if (push_out(a, a.pyramid_x, a.pyramid_z, kPyramidHalf, &approach, &nx, &nz) &&
          approach >= kToppleSpeed) {
        a.stage = kGoldDown;  // knocked over: the gold drops on in the push's direction
        a.gold_x =
            std::clamp(a.pyramid_x - nx * kGoldDrop, -kHalfRoom + kGoldHalf, kHalfRoom - kGoldHalf);
        a.gold_z =
            std::clamp(a.pyramid_z - nz * kGoldDrop, -kHalfRoom + kGoldHalf, kHalfRoom - kGoldHalf);
      }
    } else if (a.stage == kGoldDown && push_out(a, a.gold_x, a.gold_z, kGoldHalf, nullptr)) {
      reward = 2.0f;
      return true;
    }
    return false;
  }

  void observe(Agent& a, float* const* obs) const {
    static constexpr double kMaxDegrees[kSensors] = {70.0, 65.0, 75.0};
    static constexpr double kRise[kSensors] = {0.0, 5.0, 10.0};
    for (int sensor = 0; sensor < kSensors; ++sensor) {
      float* frame = obs[sensor];
      const double step = kMaxDegrees[sensor] / 3.0;
      for (int r = 0; r < kRays; ++r) {
        const int k = (r + 1) / 2;  // 0, 1, 1, 2, 2, 3, 3
        const double offset = r == 0 ? 0.0 : (r % 2 == 1 ? k * step : -k * step);
        double fraction = 1.0;
        const int tag = cast(a, (a.heading + offset) * kDegToRad, kRise[sensor], fraction);
        write_ray(frame + r * kPerRay, kTags, tag == kNothing ? -1 : tag, fraction);
      }
    }
    const double h = a.heading * kDegToRad;
    const double fx = std::sin(h), fz = std::cos(h);  // right is (fz, -fx)
    obs[3][0] = a.stage == kSwitchWaits ? 0.0f : 1.0f;
    obs[3][1] = static_cast<float>(a.vx * fz - a.vz * fx);
    obs[3][2] = 0.0f;
    obs[3][3] = static_cast<float>(a.vx * fx + a.vz * fz);
  }

  void write_mask(const Agent&, std::uint8_t*) const {}

 private:
  static constexpr double kDegToRad = 3.14159265358979323846 / 180.0;

  // A uniform point within kAreaRange of spawn area `area`'s centre.
  static void place(Rng& rng, int area, double& x, double& z) {
    x = (area % 3 - 1) * kAreaSpacing + uniform(rng, -kAreaRange, kAreaRange);
    z = (area / 3 - 1) * kAreaSpacing + uniform(rng, -kAreaRange, kAreaRange);
  }

  // The agent's disc out of a square (centre, half side); true when they touch. `approach`: the
  // agent's speed into the square before its velocity along the normal was stopped.
  static bool push_out(Agent& a, double cx, double cz, double half, double* approach,
                       double* normal_x = nullptr, double* normal_z = nullptr) {
    return push_disc_out_of_box(a.x, a.z, a.vx, a.vz, kAgentRadius, cx, cz, half, half, approach,
                                normal_x, normal_z);
  }

  // The first obstacle a sphere cast along `angle`, rising `rise` over its length, meets; the
  // fraction of the length where.
  static int cast(const Agent& a, double angle, double rise, double& fraction) {
    const double dx = std::sin(angle) * kRayLength, dz = std::cos(angle) * kRayLength;
    int tag = kNothing;
    double best = 1.0;
    auto consider = [&](double cx, double cz, double half, double height, int what) {
      const double grown = half + kRayRadius;
      double enter = 0.0;
      if (!ray_enters_box(a.x - cx, a.z - cz, dx, dz, grown, grown, enter)) return;
      const bool over = kAgentHeight + rise * enter > height + kRayRadius;
      if (enter <= best && !over) best = enter, tag = what;
    };
    // The walls: a ray leaving the room meets one (grown inwards by the cast's radius).
    const double wall = kHalfRoom - kRayRadius;
    auto wall_at = [&](double t) {
      const bool over = kAgentHeight + rise * t > kWallHeight + kRayRadius;
      if (t >= 0.0 && t <= best && !over) best = t, tag = kWall;
    };
    if (dx > 0.0) wall_at((wall - a.x) / dx);
    if (dx < 0.0) wall_at((-wall - a.x) / dx);
    if (dz > 0.0) wall_at((wall - a.z) / dz);
    if (dz < 0.0) wall_at((-wall - a.z) / dz);
    for (int s = 0; s < kStones; ++s)
      consider(a.stones[s][0], a.stones[s][1], kStoneHalf, kStoneHeight, kStone);
    consider(a.switch_x, a.switch_z, kSwitchHalf, kSwitchHeight,
             a.stage == kSwitchWaits ? kSwitchOff : kSwitchOn);
    if (a.stage == kPyramidStands)
      consider(a.pyramid_x, a.pyramid_z, kPyramidHalf, kPyramidHeight, kBlock);
    if (a.stage == kGoldDown) consider(a.gold_x, a.gold_z, kGoldHalf, kGoldHeight, kGoal);
    fraction = best;
    return tag;
  }

  EnvInfo info_;
};

}  // namespace mlaf::envs
