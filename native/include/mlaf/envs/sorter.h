// Sorter (ML-Agents' Examples/Sorter), top-down in two dimensions: numbered tiles stand on the
// wall of a round arena, and the agent must touch them in increasing order.
//
// Each episode the agent starts at the arena's centre (at rest; it keeps its heading from the
// last episode, as Unity keeps the agent's rotation; it first faces -z, the prefab's 180
// degrees); between 1 and `num_tiles` tiles (uniform) are shown, their numbers drawn without
// repetition from 1-20, each at one of 20 slots on the wall (slot k at k x 18 degrees,
// clockwise from +z) drawn without repetition. A tile is a 3.5 x 1.52 block whose centre lies
// 20.5 from the centre, its long side along the wall; the wall stands behind the tiles.
// Touching the next tile in increasing order: +1 (it is visited; touching it again does
// nothing); touching any other tile not visited yet: -1 and the episode ends; the last tile
// visited ends it. Every physics step -1/5000 (MaxStep 5000, DecisionPeriod 5).
//
// Actions: three branches of 3, held for the decision's 5 physics steps (0.02 s): forward
// (1 forward, 2 back), sideways (1 right, 2 left; it replaces the forward move, as
// SorterAgent's switch does), turn (1 left, 2 right, 200 degrees/s); a move adds 2 to the
// velocity (ForceMode.VelocityChange), which PhysX damps (v / (1 + 4 dt), the agent's drag 4)
// and ground friction slows by 0.6 x g per second (Unity's default material, g = 9.81 x 2.5).
// The agent is a disc of radius 0.5 (for its 1 x 1 box) kept inside the wall and out of the
// tiles' blocks.
//
// Observations, in ML-Agents' order (sensors sorted by name):
// - BufferSensor, one entity per shown tile in increasing order (at most 20; absent ones all
//   zeros), 23 floats: the number's one-hot at index number (1-20: index 0 is never set, and
//   tile 20's bit is overwritten by the next value, as SorterAgent writes them), the tile's
//   position relative to the agent / 20 (x, z), visited (1 or 0);
// - RBSensor (the extensions' RigidBodySensor with the agent as its own virtual root): the
//   root's local position (0, 0, 0) and rotation (0, 0, 0, 1), then its velocity in its own
//   frame (right, up, forward);
// - the vector sensor stacked 2 decisions, oldest first: position / 20 (x, z), forward (x, z).
//
// Parameter: num_tiles (the most tiles an episode shows, 1-20).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>

#include "mlaf/envs/env.h"

namespace mlaf::envs {

class Sorter {
 public:
  static constexpr int kTiles = 20;
  static constexpr int kFeatures = kTiles + 3;
  static constexpr int kVector = 4, kStack = 2, kBody = 10;
  static constexpr double kTileDistance = 20.5;  // the tile's centre from the arena's
  static constexpr double kTileHalfWidth = 1.75, kTileHalfDepth = 0.76;
  static constexpr double kWall = kTileDistance + kTileHalfDepth;  // the wall behind the tiles
  static constexpr double kAgentRadius = 0.5;
  static constexpr double kRunSpeed = 2.0;
  static constexpr double kAgentDrag = 4.0;
  static constexpr double kFriction = 0.6;  // Unity's default PhysicMaterial on both sides
  static constexpr double kGravity = 9.81 * 2.5;
  static constexpr double kTurnDegrees = 200.0 * kFixedDeltaTime;
  static constexpr int kMaxStep = 5000;

  struct Agent {
    double x, z, heading, vx, vz;    // heading in degrees, clockwise from +z
    int shown;                       // tiles this episode
    int next;                        // the index (in increasing order) of the tile to touch next
    std::array<int, kTiles> number;  // the shown tiles' numbers, increasing
    std::array<int, kTiles> slot;    // and their slots
    bool started;                    // (the first episode turns the agent to the prefab's heading)
    float frames[kStack * kVector];  // the vector sensor's last decisions, oldest first
  };

  // Option `areas` (the scene's 8 by default): independent agents per copy.
  explicit Sorter(const Options& options) {
    check_options("Sorter", options, {"areas"});
    const int areas = areas_option("Sorter", options, 8);
    info_.behavior = "Sorter";
    info_.agents_per_env = static_cast<int>(areas);
    info_.observations = {{{kTiles, kFeatures}, false, "BufferSensor"},
                          {{kBody}, false, "RBSensor"},
                          {{kStack * kVector}, false, "StackingSensor_size2_VectorSensor_size4"}};
    info_.discrete_branches = {3, 3, 3};
    info_.max_step = kMaxStep;
    info_.decision_period = 5;
    info_.parameter_names = {"num_tiles"};
    info_.parameter_defaults = {20.0};
  }

  const EnvInfo& info() const { return info_; }

  void begin_episode(Agent& a, Rng& rng, const double* p) const {
    const int most =
        static_cast<int>(std::clamp(std::floor(p[0]), 1.0, static_cast<double>(kTiles)));
    a.shown = 1 + static_cast<int>(rng.below(static_cast<std::uint64_t>(most)));
    distinct(rng, a.shown, a.number);
    for (int i = 0; i < a.shown; ++i) a.number[i] += 1;  // numbers 1-20
    std::sort(a.number.begin(), a.number.begin() + a.shown);
    distinct(rng, a.shown, a.slot);
    a.next = 0;
    a.x = a.z = a.vx = a.vz = 0.0;
    if (!a.started) a.heading = 180.0, a.started = true;
    std::fill(a.frames, a.frames + kStack * kVector, 0.0f);
  }

  bool tick(Agent& a, const AgentAction& action, float& reward) const {
    const std::int32_t* act = action.discrete;
    if (act[2] == 1) a.heading -= kTurnDegrees;
    if (act[2] == 2) a.heading += kTurnDegrees;
    const double h = a.heading * kDegToRad;
    const double fx = std::sin(h), fz = std::cos(h);  // forward; right is (fz, -fx)
    double mx = 0.0, mz = 0.0;
    if (act[0] == 1) mx = fx, mz = fz;
    if (act[0] == 2) mx = -fx, mz = -fz;
    if (act[1] == 1) mx = fz, mz = -fx;
    if (act[1] == 2) mx = -fz, mz = fx;
    a.vx += mx * kRunSpeed;
    a.vz += mz * kRunSpeed;
    damp_and_brake(a.vx, a.vz, kAgentDrag, kFixedDeltaTime, kFriction * kGravity * kFixedDeltaTime);
    a.x += a.vx * kFixedDeltaTime;
    a.z += a.vz * kFixedDeltaTime;
    reward += static_cast<float>(-1.0 / kMaxStep);
    // Inside the wall.
    const double limit = kWall - kAgentRadius, r = std::sqrt(a.x * a.x + a.z * a.z);
    if (r > limit) {
      const double nx = a.x / r, nz = a.z / r;
      a.x = nx * limit;
      a.z = nz * limit;
      const double out = a.vx * nx + a.vz * nz;
      if (out > 0.0) a.vx -= out * nx, a.vz -= out * nz;
    }
    // The tiles: pushed out of each block touched; the first one not visited yet decides.
    for (int i = 0; i < a.shown; ++i) {
      if (!touch(a, a.slot[i])) continue;
      if (i < a.next) continue;  // visited already
      if (i == a.next) {
        reward += 1.0f;
        a.next += 1;
        if (a.next == a.shown) return true;
        continue;
      }
      reward += -1.0f;
      return true;
    }
    return false;
  }

  void observe(Agent& a, float* const* obs) const {
    float* entities = obs[0];
    std::fill(entities, entities + kTiles * kFeatures, 0.0f);
    for (int i = 0; i < a.shown; ++i) {
      float* e = entities + i * kFeatures;
      const double angle = a.slot[i] * (360.0 / kTiles) * kDegToRad;
      e[a.number[i]] = 1.0f;
      e[kTiles] = static_cast<float>((kTileDistance * std::sin(angle) - a.x) / 20.0);
      e[kTiles + 1] = static_cast<float>((kTileDistance * std::cos(angle) - a.z) / 20.0);
      e[kTiles + 2] = i < a.next ? 1.0f : 0.0f;
    }
    const double h = a.heading * kDegToRad;
    const double fx = std::sin(h), fz = std::cos(h);
    float* body = obs[1];
    std::fill(body, body + kBody, 0.0f);
    body[6] = 1.0f;                                       // the identity rotation's w
    body[7] = static_cast<float>(a.vx * fz - a.vz * fx);  // right
    body[9] = static_cast<float>(a.vx * fx + a.vz * fz);  // forward
    std::copy(a.frames + kVector, a.frames + kStack * kVector, a.frames);
    float* frame = a.frames + (kStack - 1) * kVector;
    frame[0] = static_cast<float>(a.x / 20.0);
    frame[1] = static_cast<float>(a.z / 20.0);
    frame[2] = static_cast<float>(fx);
    frame[3] = static_cast<float>(fz);
    std::copy(a.frames, a.frames + kStack * kVector, obs[2]);
  }

  void write_mask(const Agent&, std::uint8_t*) const {}

 private:
  static constexpr double kDegToRad = 3.14159265358979323846 / 180.0;

  // `count` different values of 0-19 into `out`, drawn one by one (a repeat is drawn again).
  static void distinct(Rng& rng, int count, std::array<int, kTiles>& out) {
    std::array<bool, kTiles> used{};
    for (int i = 0; i < count; ++i) {
      int value;
      do value = static_cast<int>(rng.below(kTiles));
      while (used[value]);
      used[value] = true;
      out[i] = value;
    }
  }

  // Whether the agent's disc meets the block of the tile in `slot`; if so the disc is pushed
  // out of it and its velocity into it is stopped.
  static bool touch(Agent& a, int slot) {
    const double angle = slot * (360.0 / kTiles) * kDegToRad;
    const double ux = std::sin(angle), uz = std::cos(angle);  // outward (radial)
    const double tx = uz, tz = -ux;                           // along the wall
    const double cx = kTileDistance * ux, cz = kTileDistance * uz;
    const double lr = (a.x - cx) * ux + (a.z - cz) * uz, lt = (a.x - cx) * tx + (a.z - cz) * tz;
    const double pr = std::clamp(lr, -kTileHalfDepth, kTileHalfDepth);
    const double pt = std::clamp(lt, -kTileHalfWidth, kTileHalfWidth);
    double nr = lr - pr, nt = lt - pt;
    const double dist = std::sqrt(nr * nr + nt * nt);
    if (dist >= kAgentRadius) return false;
    double depth;
    if (dist > 1e-12) {
      nr /= dist;
      nt /= dist;
      depth = kAgentRadius - dist;
    } else {  // the centre inside the block: out through its inner face
      nr = -1.0;
      nt = 0.0;
      depth = kAgentRadius + (lr + kTileHalfDepth);
    }
    const double nx = nr * ux + nt * tx, nz = nr * uz + nt * tz;
    a.x += nx * depth;
    a.z += nz * depth;
    const double approach = a.vx * nx + a.vz * nz;
    if (approach < 0.0) a.vx -= approach * nx, a.vz -= approach * nz;
    return true;
  }

  EnvInfo info_;
};

}  // namespace mlaf::envs
