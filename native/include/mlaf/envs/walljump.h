// WallJump (ML-Agents' Examples/WallJump): an agent crosses a wall to reach the goal behind
// it, jumping over a low wall and pushing a block against a high one to climb it.
//
// Unity switches one agent between two behaviors per episode (configuration 0 or 1 of 5:
// SmallWallJump, 2 to 4: BigWallJump). Here an agent keeps one behavior: option `big` 0 makes
// SmallWallJump agents (each episode no wall or the small wall, one half each), `big` 1
// BigWallJump agents; the Python maker (envs/native/walljump.py) runs both, two areas of five
// small and three big, so the behaviors see ML-Agents' shares of areas.
//
// The area, with y up from the ground's top and the ground's centre at (0, -0.45, -4): the
// ground is x in [-10.5, 10.5], z in [-14.5, 6.5] with nothing around it; the wall spans x in
// [-10, 10], z in [-2.73, -1.23] and rises h / 2 (Unity scales a cube centred on the ground's
// top to height h): h = `no_wall_height` (0: no wall) or `small_wall_height` (4), or for
// BigWallJump `big_wall_height` (ML-Agents 1.0 on, sampled by the configuration) when it is
// given, else uniform in [`big_wall_min_height`, `big_wall_max_height`] (8, 8: 0.x). The goal is a
// trigger, x in [4.37, 8.37], z in [0.93, 4.93], 0.5 high. The agent is a 1 x 1 x 1 box
// spawned at x = 18 (U - 0.5), z = -12, 0.05 above the ground, facing a uniform heading (Unity
// keeps the heading of the last episode); the block, 3 x 2 x 3, rests at x in [-8.1, 8.1],
// z in [-9.77, -2.77] (the spawn volume).
//
// Bodies are boxes that do not turn (the agent's collision box ignores its heading), moved
// with PhysX's order: velocity changes and accelerations, gravity (9.81 x 2.75), damping
// v / (1 + drag dt) (agent drag 2, block 1), ground friction 0.6 x g x dt on a body that stood
// on something after the last step, then positions, then contacts: each body pushed out of
// the ground and the wall along the axis of least overlap (up when it was above the top
// before), its velocity into the surface removed; agent (mass 25) against block (mass 10)
// sideways shares the correction by mass and leaves both with their common velocity along
// the normal (the block against the wall stays and the agent takes it all); on top of the
// block the agent stands.
//
// Each of the 5 physics steps (0.02 s) of a decision, as WallJumpAgent.MoveAgent: -0.0005;
// branch 0: 1 forward, 2 backward; branch 1: 1 turn left, 2 turn right, 6 degrees (300/s);
// branch 2: 1 left, 2 right at 0.6 (replacing a forward move); all moves halved unless the
// large ground check holds (a 0.95 x 1 x 0.95 box 0.05 below the agent overlaps the ground,
// the block or the wall); a move adds 3 to the velocity. Branch 3: 1 jumps if no jump is
// running and the small ground check holds (a ray from 0.05 below the centre finds a top
// within 1): for 0.2 s the velocity is moved by at most 10 towards 777 dt (target - centre),
// the target 2.75 above the jump's start plus the move; when not jumping and not on the large
// check, 111 down. Before the physics: the agent or the block without ground below (its centre
// outside the ground, the agent's also not over the block) sets -1 and ends the episode.
// After it: the agent in the goal on the small ground check sets +1 and ends it. MaxStep 2000.
//
// Observations: two RayPerceptionSensor3D (7 rays at 0, 30, -30, 60, -60, 90, -90 degrees,
// length 20, sphere casts of radius 0.5 as rays against the boxes grown by 0.5, an obstacle the
// cast starts inside unseen; tags wall, goal, block; per ray the tag's one-hot, 1 if nothing
// was hit, the hit fraction (1 on a miss)), the second from 2.5 above the centre to 5 above
// the ray's end; 6 decisions stacked oldest first: 210 floats each. Then the agent's position
// relative to the ground's centre / 20 and the small ground check: 4 floats.
#pragma once

#include <algorithm>
#include <cmath>

#include "mlaf/envs/env.h"

namespace mlaf::envs {

class WallJump {
 public:
  static constexpr double kHalfGroundX = 10.5, kGroundLowZ = -14.5, kGroundHighZ = 6.5;
  static constexpr double kGroundDepth = 0.9, kGroundCentreY = -0.45, kGroundCentreZ = -4.0;
  static constexpr double kWallHalfX = 10.0, kWallLowZ = -2.73, kWallHighZ = -1.23;
  static constexpr double kGoalLowX = 4.37, kGoalHighX = 8.37, kGoalLowZ = 0.93, kGoalHighZ = 4.93,
                          kGoalHeight = 0.5;
  static constexpr double kAgentHalf = 0.5, kBlockHalfXZ = 1.5, kBlockHalfY = 1.0;
  static constexpr double kAgentMass = 25.0, kBlockMass = 10.0;
  static constexpr double kAgentDrag = 2.0, kBlockDrag = 1.0, kFriction = 0.6;
  static constexpr double kGravity = 9.81 * 2.75;
  static constexpr double kRunSpeed = 3.0, kTurnDegrees = 300.0 * kFixedDeltaTime;
  static constexpr double kJumpHeight = 2.75, kJumpVelocity = 777.0, kJumpMaxChange = 10.0;
  static constexpr double kJumpTime = 0.2, kFallingForce = 111.0;
  static constexpr double kRayLength = 20.0, kRayRadius = 0.5;
  static constexpr double kOffsetStart = 2.5, kOffsetEnd = 5.0;
  static constexpr int kRays = 7, kPerRay = 5, kStack = 6, kFrame = kRays * kPerRay;
  static constexpr int kMaxStep = 2000;
  enum Tag { kWallTag = 0, kGoalTag = 1, kBlockTag = 2, kNothing = 3 };

  struct Box {
    double lo[3], hi[3];
  };
  struct Body {
    double p[3], v[3];  // centre and velocity (x, y, z)
    bool supported;     // stood on something after the last step
  };
  struct Agent {
    Body agent, block;
    double heading;       // degrees, clockwise from +z seen from above (forward at 0 is +z)
    double wall_top;      // the wall's height above the ground (0: no wall)
    double jumping_time;  // seconds of the running jump left
    double jump_start_y;
    float frames[2][kStack * kFrame];  // per sensor, the last decisions' rays, oldest first
  };

  // Options: `big` (0: SmallWallJump, 1: BigWallJump) and `areas` (agents per copy, 1).
  explicit WallJump(const Options& options) {
    check_options("WallJump", options, {"big", "areas"});
    const double big = option_or(options, "big", 0);
    if (big != 0 && big != 1) throw std::invalid_argument("WallJump option 'big' must be 0 or 1.");
    const int areas = areas_option("WallJump", options, 1);
    big_ = big == 1;
    info_.behavior = big_ ? "BigWallJump" : "SmallWallJump";
    info_.agents_per_env = static_cast<int>(areas);
    info_.observations = {{{kStack * kFrame}, false, "RayPerceptionSensor"},
                          {{kStack * kFrame}, false, "OffsetRayPerceptionSensor"},
                          {{4}, false, "VectorSensor_size4"}};
    info_.discrete_branches = {3, 3, 3, 2};
    info_.max_step = kMaxStep;
    info_.decision_period = 5;
    info_.parameter_names = {"no_wall_height", "small_wall_height", "big_wall_min_height",
                             "big_wall_max_height", "big_wall_height"};
    info_.parameter_defaults = {0.0, 4.0, 8.0, 8.0, std::nan("")};
  }

  const EnvInfo& info() const { return info_; }

  // Wall heights are clamped to [0, 20].
  void begin_episode(Agent& a, Rng& rng, const double* p) const {
    a.block = {{uniform(rng, -8.1, 8.1), kBlockHalfY, -6.27 + uniform(rng, -3.5, 3.5)},
               {0.0, 0.0, 0.0},
               true};
    a.agent = {{18.0 * (uniform01(rng) - 0.5), kAgentHalf + 0.05, -12.0}, {0.0, 0.0, 0.0}, false};
    a.heading = uniform(rng, 0.0, 360.0);
    double height;
    if (big_ && !std::isnan(p[4])) {
      height = p[4];
    } else if (big_) {
      height = p[2] + uniform01(rng) * (p[3] - p[2]);
    } else {
      height = rng.below(2) == 0 ? p[0] : p[1];
    }
    a.wall_top = 0.5 * std::clamp(height, 0.0, 20.0);
    a.jumping_time = 0.0;
    a.jump_start_y = 0.0;
    std::fill(&a.frames[0][0], &a.frames[0][0] + 2 * kStack * kFrame, 0.0f);
  }

  bool tick(Agent& a, const AgentAction& action, float& reward) const {
    reward += -0.0005f;
    if (!over_ground(a.agent.p, &a) || !over_ground(a.block.p, nullptr)) {
      reward = -1.0f;
      return true;
    }
    move(a, action.discrete);
    simulate(a);
    if (in_goal(a.agent.p) && small_grounded(a)) {
      reward = 1.0f;
      return true;
    }
    return false;
  }

  // Not const on the agent: each decision's rays go onto the stacks.
  void observe(Agent& a, float* const* obs) const {
    for (int sensor = 0; sensor < 2; ++sensor) {
      float* frames = a.frames[sensor];
      std::copy(frames + kFrame, frames + kStack * kFrame, frames);
      float* frame = frames + (kStack - 1) * kFrame;
      static constexpr double kAngles[kRays] = {0.0, 30.0, -30.0, 60.0, -60.0, 90.0, -90.0};
      for (int r = 0; r < kRays; ++r) {
        double fraction = 1.0;
        const int tag = cast(a, sensor == 1, (a.heading + kAngles[r]) * kDegToRad, fraction);
        write_ray(frame + r * kPerRay, 3, tag == kNothing ? -1 : tag, fraction);
      }
      std::copy(frames, frames + kStack * kFrame, obs[sensor]);
    }
    obs[2][0] = static_cast<float>(a.agent.p[0] / 20.0);
    obs[2][1] = static_cast<float>((a.agent.p[1] - kGroundCentreY) / 20.0);
    obs[2][2] = static_cast<float>((a.agent.p[2] - kGroundCentreZ) / 20.0);
    obs[2][3] = small_grounded(a) ? 1.0f : 0.0f;
  }

  void write_mask(const Agent&, std::uint8_t*) const {}

  // The obstacles' boxes (for the heuristic and the tests).
  static Box ground_box() {
    return {{-kHalfGroundX, -kGroundDepth, kGroundLowZ}, {kHalfGroundX, 0.0, kGroundHighZ}};
  }
  static Box wall_box(const Agent& a) {
    return {{-kWallHalfX, 0.0, kWallLowZ}, {kWallHalfX, a.wall_top, kWallHighZ}};
  }
  static Box body_box(const Body& b, double half_xz, double half_y) {
    return {{b.p[0] - half_xz, b.p[1] - half_y, b.p[2] - half_xz},
            {b.p[0] + half_xz, b.p[1] + half_y, b.p[2] + half_xz}};
  }

 private:
  static constexpr double kDegToRad = 3.14159265358979323846 / 180.0;

  static bool overlaps(const Box& a, const Box& b) {
    for (int k = 0; k < 3; ++k) {
      if (!(a.lo[k] < b.hi[k] && b.lo[k] < a.hi[k])) return false;
    }
    return true;
  }
  static bool inside_xz(const double* p, const Box& b) {
    return p[0] >= b.lo[0] && p[0] <= b.hi[0] && p[2] >= b.lo[2] && p[2] <= b.hi[2];
  }

  // Physics.Raycast(down, 20) from the centre finds the ground (or, for the agent, the block).
  static bool over_ground(const double* p, const Agent* agent) {
    if (inside_xz(p, ground_box())) return true;
    return agent != nullptr && inside_xz(p, body_box(agent->block, kBlockHalfXZ, kBlockHalfY)) &&
           p[1] >= agent->block.p[1];
  }

  static bool in_goal(const double* p) {
    return p[0] + kAgentHalf > kGoalLowX && p[0] - kAgentHalf < kGoalHighX &&
           p[2] + kAgentHalf > kGoalLowZ && p[2] - kAgentHalf < kGoalHighZ &&
           p[1] - kAgentHalf < kGoalHeight;
  }

  // DoGroundCheck(true): a ray down from 0.05 below the centre meets a top within 1.
  static bool small_grounded(const Agent& a) {
    const double* p = a.agent.p;
    const double start = p[1] - 0.05;
    double best = -1e300;
    const Box tops[3] = {ground_box(), wall_box(a), body_box(a.block, kBlockHalfXZ, kBlockHalfY)};
    for (int i = 0; i < 3; ++i) {
      if (i == 1 && a.wall_top <= 0.0) continue;
      const Box& b = tops[i];
      if (inside_xz(p, b) && b.hi[1] <= start && b.hi[1] > best) best = b.hi[1];
    }
    return start - best <= 1.0;
  }

  // DoGroundCheck(false): a 0.95 x 1 x 0.95 box 0.05 below the centre overlaps something.
  static bool large_grounded(const Agent& a) {
    const double* p = a.agent.p;
    const Box check = {{p[0] - 0.475, p[1] - 0.55, p[2] - 0.475},
                       {p[0] + 0.475, p[1] + 0.45, p[2] + 0.475}};
    if (overlaps(check, ground_box())) return true;
    if (a.wall_top > 0.0 && overlaps(check, wall_box(a))) return true;
    return overlaps(check, body_box(a.block, kBlockHalfXZ, kBlockHalfY));
  }

  void move(Agent& a, const std::int32_t* act) const {
    const bool small = small_grounded(a), large = large_grounded(a);
    const double h = a.heading * kDegToRad;
    const double fx = std::sin(h), fz = std::cos(h);  // forward; right is (fz, -fx)
    const double scale = large ? 1.0 : 0.5;
    double gx = 0.0, gz = 0.0;  // dirToGo
    if (act[0] == 1) gx = scale * fx, gz = scale * fz;
    if (act[0] == 2) gx = -scale * fx, gz = -scale * fz;
    if (act[2] == 1) gx = -scale * 0.6 * fz, gz = scale * 0.6 * fx;
    if (act[2] == 2) gx = scale * 0.6 * fz, gz = -scale * 0.6 * fx;
    if (act[3] == 1 && a.jumping_time <= 0.0 && small) {
      a.jumping_time = kJumpTime;
      a.jump_start_y = a.agent.p[1];
    }
    if (act[1] == 1) a.heading -= kTurnDegrees;
    if (act[1] == 2) a.heading += kTurnDegrees;
    double* v = a.agent.v;
    if (a.jumping_time > 0.0) {  // MoveTowards: rb.velocity set before the physics step
      const double* p = a.agent.p;
      const double target[3] = {p[0] + gx, a.jump_start_y + kJumpHeight, p[2] + gz};
      double change[3], length2 = 0.0;
      for (int k = 0; k < 3; ++k) {
        change[k] = kFixedDeltaTime * kJumpVelocity * (target[k] - p[k]) - v[k];
        length2 += change[k] * change[k];
      }
      const double length = std::sqrt(length2);
      const double keep = length <= kJumpMaxChange ? 1.0 : kJumpMaxChange / length;
      for (int k = 0; k < 3; ++k) v[k] += change[k] * keep;
    }
    v[0] += gx * kRunSpeed;  // ForceMode.VelocityChange, applied in the physics step
    v[2] += gz * kRunSpeed;
    if (!(a.jumping_time > 0.0) && !large) v[1] -= kFallingForce * kFixedDeltaTime;
    a.jumping_time -= kFixedDeltaTime;
  }

  static void integrate(Body& b, double drag) {
    b.v[1] -= kGravity * kFixedDeltaTime;
    const double keep = 1.0 / (1.0 + drag * kFixedDeltaTime);
    for (double& v : b.v) v *= keep;
    if (b.supported) {
      const double speed = std::sqrt(b.v[0] * b.v[0] + b.v[2] * b.v[2]);
      const double brake = kFriction * kGravity * kFixedDeltaTime;
      const double scale = speed > brake ? (speed - brake) / speed : 0.0;
      b.v[0] *= scale;
      b.v[2] *= scale;
    }
    for (int k = 0; k < 3; ++k) b.p[k] += b.v[k] * kFixedDeltaTime;
    b.supported = false;
  }

  // How far `body` (half sizes) must move along `axis` (sign in `direction`) to leave `other`;
  // false when they do not overlap. Up when the body was above the top before this step.
  static bool separation(const Box& body, const Box& other, double previous_bottom, int& axis,
                         double& depth, double& direction) {
    if (!overlaps(body, other)) return false;
    axis = -1;
    depth = 1e300;
    for (int k = 0; k < 3; ++k) {
      const double push_up = other.hi[k] - body.lo[k], push_down = body.hi[k] - other.lo[k];
      if (push_up < depth) axis = k, depth = push_up, direction = 1.0;
      if (push_down < depth) axis = k, depth = push_down, direction = -1.0;
    }
    if (previous_bottom >= other.hi[1] - 1e-9) {
      axis = 1, depth = other.hi[1] - body.lo[1], direction = 1.0;
    }
    return true;
  }

  static void push_out(Body& b, double half_xz, double half_y, const Box& other,
                       double previous_bottom) {
    int axis;
    double depth, direction;
    if (!separation(body_box(b, half_xz, half_y), other, previous_bottom, axis, depth, direction)) {
      return;
    }
    b.p[axis] += direction * depth;
    if (b.v[axis] * direction < 0.0) b.v[axis] = 0.0;
    if (axis == 1 && direction > 0.0) b.supported = true;
  }

  static void against_statics(Body& b, double half_xz, double half_y, const Agent& a,
                              double previous_bottom) {
    push_out(b, half_xz, half_y, ground_box(), previous_bottom);
    if (a.wall_top > 0.0) push_out(b, half_xz, half_y, wall_box(a), previous_bottom);
  }

  static void simulate(Agent& a) {
    const double agent_bottom = a.agent.p[1] - kAgentHalf;
    const double block_bottom = a.block.p[1] - kBlockHalfY;
    integrate(a.block, kBlockDrag);
    integrate(a.agent, kAgentDrag);
    against_statics(a.block, kBlockHalfXZ, kBlockHalfY, a, block_bottom);
    against_statics(a.agent, kAgentHalf, kAgentHalf, a, agent_bottom);
    int axis;
    double depth, direction;
    const Box block = body_box(a.block, kBlockHalfXZ, kBlockHalfY);
    if (!separation(body_box(a.agent, kAgentHalf, kAgentHalf), block, agent_bottom, axis, depth,
                    direction)) {
      return;
    }
    if (axis == 1) {  // on (or under) the block: the block stands on the ground
      a.agent.p[1] += direction * depth;
      if (a.agent.v[1] * direction < 0.0) a.agent.v[1] = 0.0;
      if (direction > 0.0) a.agent.supported = true;
      return;
    }
    const double agent_share = kBlockMass / (kAgentMass + kBlockMass);
    a.agent.p[axis] += direction * depth * agent_share;
    a.block.p[axis] -= direction * depth * (1.0 - agent_share);
    const double approach = (a.agent.v[axis] - a.block.v[axis]) * direction;
    if (approach < 0.0) {
      const double common =
          (kAgentMass * a.agent.v[axis] + kBlockMass * a.block.v[axis]) / (kAgentMass + kBlockMass);
      a.agent.v[axis] = common;
      a.block.v[axis] = common;
    }
    const double before = a.block.p[axis];
    against_statics(a.block, kBlockHalfXZ, kBlockHalfY, a, a.block.p[1] - kBlockHalfY);
    if (a.block.p[axis] != before) {  // the block is stopped: the agent takes the rest
      a.agent.p[axis] += a.block.p[axis] - before;
      a.agent.v[axis] = a.block.v[axis];
      against_statics(a.agent, kAgentHalf, kAgentHalf, a, a.agent.p[1] - kAgentHalf);
    }
  }

  // The first obstacle a sphere cast of `sensor` (offset or not) along `angle` meets, and the
  // fraction of the ray's length where.
  static int cast(const Agent& a, bool offset, double angle, double& fraction) {
    const double* p = a.agent.p;
    const double dx = std::sin(angle) * kRayLength, dz = std::cos(angle) * kRayLength;
    const double origin[3] = {p[0], p[1] + (offset ? kOffsetStart : 0.0), p[2]};
    const double ray[3] = {dx, offset ? kOffsetEnd - kOffsetStart : 0.0, dz};
    int tag = kNothing;
    double best = 1.0;
    auto consider = [&](const Box& box, int what) {
      double enter = -1e300, leave = 1e300;
      for (int k = 0; k < 3; ++k) {
        const double lo = box.lo[k] - kRayRadius, hi = box.hi[k] + kRayRadius;
        if (ray[k] == 0.0) {
          if (origin[k] < lo || origin[k] > hi) return;
          continue;
        }
        const double t1 = (lo - origin[k]) / ray[k], t2 = (hi - origin[k]) / ray[k];
        enter = std::max(enter, std::min(t1, t2));
        leave = std::min(leave, std::max(t1, t2));
      }
      if (leave >= enter && enter >= 0.0 && enter <= best) best = enter, tag = what;
    };
    if (a.wall_top > 0.0) consider(wall_box(a), kWallTag);
    consider({{kGoalLowX, 0.0, kGoalLowZ}, {kGoalHighX, kGoalHeight, kGoalHighZ}}, kGoalTag);
    consider(body_box(a.block, kBlockHalfXZ, kBlockHalfY), kBlockTag);
    fraction = best;
    return tag;
  }

  bool big_ = false;
  EnvInfo info_;
};

}  // namespace mlaf::envs
