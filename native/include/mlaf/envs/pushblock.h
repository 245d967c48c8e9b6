// PushBlock (ML-Agents' Examples/PushBlock), top-down in two dimensions: an agent pushes a
// block into the goal at one end of a walled square area.
//
// The floor is 25 x 25 with walls along its edges; the goal is a solid slab of tag "goal"
// across the far end, z from -12.5 to -8.35 (the scene's goal collider). Each episode the
// block (side `block_scale`) and then the agent (a disc of radius 0.5 standing for the 1 x 1
// cube) spawn at uniform points of the middle half of the floor, x and z in [-6.25, 6.25]
// (spawnAreaMarginMultiplier 0.5), where a 5 x 5 box around the point touches neither the goal
// nor, for the agent, the block (Unity's Physics.CheckBox; after 1000 draws the last one is kept,
// which a block_scale near 8 can need). The agent faces a uniform random heading: Unity keeps the
// agent's rotation between episodes and turns the whole area by a random multiple of 90
// degrees, which over many episodes is a uniform heading relative to the area.
//
// One branch of 7 actions, repeated on each of the 5 physics steps (0.02 s) of a decision:
// 0 nothing, 1 forward, 2 backward, 3 turn right 4 degrees (200 degrees/s), 4 turn left,
// 5 strafe left at 0.75, 6 strafe right at 0.75; a move adds 3 (agentRunSpeed) to the velocity
// (ForceMode.VelocityChange). Velocities decay as PhysX damps them, v / (1 + drag dt) (the
// agent's drag 4, the block's `block_drag`), then by ground friction. Unity averages the
// ground's friction (the `dynamic_friction` and `static_friction` parameters) with the bodies'
// default material's 0.6: a moving body slows by mu x g per second (g = 9.81 x 2.5, the scene's
// gravity multiplier), and one slower than mu_static x g x dt stops. Both bodies have mass 10
// and frozen rotations and
// collide inelastically: the disc with the block's square, each with the walls and the goal.
// The block touching the goal: +5 and the episode ends. Every physics step -1/5000 (MaxStep
// 5000, DecisionPeriod 5: at most 1000 decisions).
//
// Observations: ML-Agents' RayPerceptionSensor3D with 7 rays (0, 30, -30, 60, -60, 90, -90
// degrees from forward, positive to the right: ML-Agents' order), length 12, sphere casts of
// radius 0.5 (here rays against the obstacles grown by 0.5, the block's corners square; an
// obstacle the cast starts inside is not seen, as PhysX does), tags block, goal, wall: per ray
// the tag's one-hot, 1 if nothing was hit, and the hit distance / 12 (1 when nothing was hit),
// 3 decisions stacked oldest first: 105 floats. The scene's second sensor, 1.5 higher, passes
// over the block, the walls and the goal (all at most 1.5 high) and sees nothing: it is kept as
// 105 floats of misses so that models have ML-Agents' input layout.
//
// Parameters (ML-Agents' names and defaults): block_scale 2, block_drag 0.5,
// dynamic_friction 0, static_friction 0.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>

#include "mlaf/envs/env.h"

namespace mlaf::envs {

class PushBlock {
 public:
  static constexpr double kHalfFloor = 12.5;
  static constexpr double kGoalFace = -8.35;
  static constexpr double kAgentRadius = 0.5;
  static constexpr double kSpawnHalf = 6.25;
  static constexpr double kCheckHalf = 2.5;  // Physics.CheckBox half extent at spawning
  static constexpr double kRunSpeed = 3.0;
  static constexpr double kTurnDegrees = 200.0 * kFixedDeltaTime;
  static constexpr double kAgentDrag = 4.0;
  static constexpr double kGravity = 9.81 * 2.5;
  static constexpr double kMaterialFriction =
      0.6;  // Unity's default PhysicMaterial, combined by averaging
  static constexpr double kRayLength = 12.0;
  static constexpr double kRayRadius = 0.5;
  static constexpr int kRays = 7;
  static constexpr int kPerRay = 5;  // block, goal, wall, no hit, distance
  static constexpr int kStack = 3;
  static constexpr int kFrame = kRays * kPerRay;
  static constexpr int kMaxStep = 5000;
  enum Tag { kBlock = 0, kGoalTag = 1, kWall = 2, kNothing = 3 };

  struct Agent {
    double x, z, heading;  // heading in degrees, clockwise from +z (forward at 0 is +z)
    double vx, vz;
    double bx, bz, bvx, bvz;                               // the block's centre and velocity
    double half;                                           // the block's half side
    double block_drag, dynamic_friction, static_friction;  // (the frictions combined)
    float frames[kStack * kFrame];                         // the last decisions' rays, oldest first
  };

  // Option `areas` (32, the scene's): independent agents per copy.
  explicit PushBlock(const Options& options) {
    check_options("PushBlock", options, {"areas"});
    const int areas = areas_option("PushBlock", options, 32);
    info_.behavior = "PushBlock";
    info_.agents_per_env = static_cast<int>(areas);
    info_.observations = {{{kStack * kFrame}, false, "RayPerceptionSensor"},
                          {{kStack * kFrame}, false, "OffsetRayPerceptionSensor"}};
    info_.discrete_branches = {7};
    info_.max_step = kMaxStep;
    info_.decision_period = 5;
    info_.parameter_names = {"block_scale", "block_drag", "dynamic_friction", "static_friction"};
    info_.parameter_defaults = {2.0, 0.5, 0.0, 0.0};
  }

  const EnvInfo& info() const { return info_; }

  // Sampled parameters are clamped: the block's side to [0.5, 8], drag and frictions to >= 0.
  void begin_episode(Agent& a, Rng& rng, const double* p) const {
    a.half = 0.5 * std::clamp(p[0], 0.5, 8.0);
    a.block_drag = std::max(p[1], 0.0);
    a.dynamic_friction = 0.5 * (std::max(p[2], 0.0) + kMaterialFriction);
    a.static_friction = 0.5 * (std::max(p[3], 0.0) + kMaterialFriction);
    spawn(rng, a.bx, a.bz, false, a);
    spawn(rng, a.x, a.z, true, a);
    a.heading = uniform(rng, 0.0, 360.0);
    a.vx = a.vz = a.bvx = a.bvz = 0.0;
    std::fill(a.frames, a.frames + kStack * kFrame, 0.0f);
  }

  bool tick(Agent& a, const AgentAction& action, float& reward) const {
    const int act = action.discrete[0];
    if (act == 3) a.heading += kTurnDegrees;
    if (act == 4) a.heading -= kTurnDegrees;
    const double h = a.heading * kDegToRad;
    const double fx = std::sin(h), fz = std::cos(h);  // forward; right is (fz, -fx)
    double mx = 0.0, mz = 0.0;
    if (act == 1) mx = fx, mz = fz;
    if (act == 2) mx = -fx, mz = -fz;
    if (act == 5) mx = -0.75 * fz, mz = 0.75 * fx;
    if (act == 6) mx = 0.75 * fz, mz = -0.75 * fx;
    a.vx += mx * kRunSpeed;
    a.vz += mz * kRunSpeed;
    slow(a.vx, a.vz, kAgentDrag, a);
    slow(a.bvx, a.bvz, a.block_drag, a);
    a.x += a.vx * kFixedDeltaTime;
    a.z += a.vz * kFixedDeltaTime;
    a.bx += a.bvx * kFixedDeltaTime;
    a.bz += a.bvz * kFixedDeltaTime;
    keep_inside(a.x, a.z, a.vx, a.vz, kAgentRadius);
    keep_inside(a.bx, a.bz, a.bvx, a.bvz, a.half);
    collide(a, false);
    keep_inside(a.bx, a.bz, a.bvx, a.bvz, a.half);
    collide(a, true);  // the block against a wall stays: the agent takes the whole correction
    keep_inside(a.x, a.z, a.vx, a.vz, kAgentRadius);
    reward += static_cast<float>(-1.0 / kMaxStep);
    if (a.bz - a.half <= kGoalFace + 1e-9) {
      reward += 5.0f;
      return true;
    }
    return false;
  }

  // Not const on the agent: each decision's rays go onto the stack.
  void observe(Agent& a, float* const* obs) const {
    std::copy(a.frames + kFrame, a.frames + kStack * kFrame, a.frames);
    float* frame = a.frames + (kStack - 1) * kFrame;
    static constexpr double kAngles[kRays] = {0.0, 30.0, -30.0, 60.0, -60.0, 90.0, -90.0};
    for (int r = 0; r < kRays; ++r) {
      double distance = kRayLength;
      const int tag = cast(a, (a.heading + kAngles[r]) * kDegToRad, distance);
      write_ray(frame + r * kPerRay, 3, tag == kNothing ? -1 : tag, distance / kRayLength);
    }
    std::copy(a.frames, a.frames + kStack * kFrame, obs[0]);
    for (int i = 0; i < kStack * kRays; ++i) {
      float* out = obs[1] + i * kPerRay;
      std::fill(out, out + kPerRay, 0.0f);
      out[3] = out[4] = 1.0f;
    }
  }

  void write_mask(const Agent&, std::uint8_t*) const {}

 private:
  static constexpr double kDegToRad = 3.14159265358979323846 / 180.0;

  // A spawn point whose 5 x 5 check box touches neither the goal nor (`avoid_block`) the block.
  void spawn(Rng& rng, double& x, double& z, bool avoid_block, const Agent& a) const {
    for (int attempt = 0; attempt < 1000; ++attempt) {
      x = uniform(rng, -kSpawnHalf, kSpawnHalf);
      z = uniform(rng, -kSpawnHalf, kSpawnHalf);
      const bool on_goal = z - kCheckHalf <= kGoalFace;
      const bool on_block = avoid_block && std::abs(x - a.bx) < kCheckHalf + a.half &&
                            std::abs(z - a.bz) < kCheckHalf + a.half;
      if (!on_goal && !on_block) return;
    }
  }

  // PhysX's damping, then ground friction.
  static void slow(double& vx, double& vz, double drag, const Agent& a) {
    const double keep = 1.0 / (1.0 + drag * kFixedDeltaTime);
    vx *= keep;
    vz *= keep;
    const double speed = std::sqrt(vx * vx + vz * vz);
    if (speed <= a.static_friction * kGravity * kFixedDeltaTime) {
      vx = vz = 0.0;
      return;
    }
    const double brake = a.dynamic_friction * kGravity * kFixedDeltaTime;
    if (brake > 0.0) {
      const double scale = speed > brake ? (speed - brake) / speed : 0.0;
      vx *= scale;
      vz *= scale;
    }
  }

  // A body of half size `r` stays between the walls and in front of the goal.
  static void keep_inside(double& x, double& z, double& vx, double& vz, double r) {
    const double low_x = -kHalfFloor + r, high_x = kHalfFloor - r;
    const double low_z = kGoalFace + r, high_z = kHalfFloor - r;
    if (x < low_x) x = low_x, vx = std::max(vx, 0.0);
    if (x > high_x) x = high_x, vx = std::min(vx, 0.0);
    if (z < low_z) z = low_z, vz = std::max(vz, 0.0);
    if (z > high_z) z = high_z, vz = std::min(vz, 0.0);
  }

  // The agent's disc against the block's square: apart along the contact normal (half each,
  // or all by the agent when `block_fixed`), and their approach along it stopped.
  static void collide(Agent& a, bool block_fixed) {
    const double cx = std::clamp(a.x, a.bx - a.half, a.bx + a.half);
    const double cz = std::clamp(a.z, a.bz - a.half, a.bz + a.half);
    double nx = a.x - cx, nz = a.z - cz;
    const double dist = std::sqrt(nx * nx + nz * nz);
    double depth;
    if (dist > 1e-12) {
      if (dist >= kAgentRadius) return;
      nx /= dist;
      nz /= dist;
      depth = kAgentRadius - dist;
    } else {  // the centre inside the square: out through the nearest side
      const double gaps[4] = {a.bx + a.half - a.x, a.x - (a.bx - a.half), a.bz + a.half - a.z,
                              a.z - (a.bz - a.half)};
      const int side = static_cast<int>(std::min_element(gaps, gaps + 4) - gaps);
      nx = side == 0 ? 1.0 : side == 1 ? -1.0 : 0.0;
      nz = side == 2 ? 1.0 : side == 3 ? -1.0 : 0.0;
      depth = kAgentRadius + gaps[side];
    }
    const double agent_share = block_fixed ? 1.0 : 0.5;
    a.x += nx * depth * agent_share;
    a.z += nz * depth * agent_share;
    a.bx -= nx * depth * (1.0 - agent_share);
    a.bz -= nz * depth * (1.0 - agent_share);
    const double approach = (a.vx - a.bvx) * nx + (a.vz - a.bvz) * nz;
    if (approach < 0.0) {
      a.vx -= approach * agent_share * nx;
      a.vz -= approach * agent_share * nz;
      a.bvx += approach * (1.0 - agent_share) * nx;
      a.bvz += approach * (1.0 - agent_share) * nz;
    }
  }

  // The first obstacle a sphere cast along `angle` (radians, clockwise from +z) meets within
  // the ray's length, and its distance.
  static int cast(const Agent& a, double angle, double& distance) {
    const double dx = std::sin(angle), dz = std::cos(angle);
    const double wall = kHalfFloor - kRayRadius, goal = kGoalFace + kRayRadius;
    int tag = kNothing;
    double best = kRayLength;
    auto consider = [&](double t, int what) {
      if (t >= 0.0 && t <= best) best = t, tag = what;
    };
    if (dx > 0.0 && a.x < wall) consider((wall - a.x) / dx, kWall);
    if (dx < 0.0 && a.x > -wall) consider((-wall - a.x) / dx, kWall);
    if (dz > 0.0 && a.z < wall) consider((wall - a.z) / dz, kWall);
    if (dz < 0.0 && a.z > goal) consider((goal - a.z) / dz, kGoalTag);
    // the block grown by the cast's radius (slabs)
    const double grown = a.half + kRayRadius;
    double enter = -1e300, leave = 1e300;
    bool miss = false;
    const double origin[2] = {a.x - a.bx, a.z - a.bz}, dir[2] = {dx, dz};
    for (int k = 0; k < 2 && !miss; ++k) {
      if (std::abs(dir[k]) < 1e-12) {
        miss = std::abs(origin[k]) > grown;
        continue;
      }
      const double t1 = (-grown - origin[k]) / dir[k], t2 = (grown - origin[k]) / dir[k];
      enter = std::max(enter, std::min(t1, t2));
      leave = std::min(leave, std::max(t1, t2));
    }
    if (!miss && leave >= enter && enter >= 0.0) consider(enter, kBlock);
    distance = best;
    return tag;
  }

  EnvInfo info_;
};

}  // namespace mlaf::envs
