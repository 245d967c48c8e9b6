// Cooperative PushBlock (ML-Agents' Examples/PushBlock, the PushBlockCollab scene), top-down in
// two dimensions: three agents of one group push six blocks into the goal at one end of a walled
// square area; the heavier blocks need more of them. Headings are degrees clockwise from +z.
//
// The floor is 25 x 25 inside walls; the goal is the strip z < -8.35 (as in PushBlock). Blocks
// are axis-aligned squares: two small (side 1, mass 10, +1), two large (side 2, mass 100, +2),
// two very large (side 3, mass 150, +3). A new episode (ResetScene): the agents, then the blocks,
// at uniform points of x, z in [-6.25, 6.25] (spawnAreaMarginMultiplier 0.5) whose 3 x 3 check box
// touches nothing placed before it (after 1000 draws the last is kept); agents face uniform
// random headings.
//
// One branch of 7 actions, repeated on each of the 5 physics steps (0.02 s) of a decision, as
// PushBlock's: 0 nothing, 1 forward, 2 backward, 3 turn right 4 degrees, 4 turn left, 5 strafe left
// at 0.75, 6 strafe right; a move adds 3 to the velocity (ForceMode.VelocityChange), then PhysX's
// damping (drag 4) and ground friction (0.3 x 24.525 x dt off the speed). Agents are discs of
// radius 0.5 and mass 10.
//
// Pushing (PhysX's contacts and the blocks' friction, reduced to momentum): the agents touching a
// block and moving into it share their momentum along their push with the block's. A block at
// rest moves only when that momentum exceeds its static friction, 0.45 N s per kg each physics
// step, so one agent (about 28 N s at full push) moves a small block, two a large one and three a
// very large one, as the scene's masses intend; a moving block loses 0.1 N s per kg a step
// (dynamic friction) and is damped by drag 0.5. The block and its pushers then move together
// along each push. Blocks stop against the walls and each other (pushed apart, mass-weighted);
// agents are pushed out of blocks, walls and each other.
//
// A block touching the goal: the group gets its value and the block is gone; the last block ends
// the group's episode. Each physics step the group pays 0.5 / 5000; after 5000 physics steps
// (MaxEnvironmentSteps) the episode is interrupted. A new episode starts at once.
//
// Observations: ML-Agents' GridSensor, 20 x 20 cells of 1 m centred on the agent and turned with
// it (row 0 the farthest ahead, column 0 the farthest left), channels wall, agent, goal,
// blockSmall, blockLarge, blockVeryLarge (channel-first: 6 x 20 x 20): each cell one-hot for
// what holds its centre (a block, else another agent, else a wall outside the floor, else the
// goal strip), all zeros on bare floor.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "mlaf/envs/vec_env.h"

namespace mlaf::envs {

class PushBlockCollab {
 public:
  static constexpr double kHalfFloor = 12.5, kGoalFace = -8.35, kSpawnHalf = 6.25, kCheckHalf = 1.5;
  static constexpr double kAgentRadius = 0.5, kAgentMass = 10.0, kRunSpeed = 3.0;
  static constexpr double kTurnDegrees = 200.0 * kFixedDeltaTime, kAgentDrag = 4.0;
  static constexpr double kAgentBrake = 0.3 * 9.81 * 2.5 * kFixedDeltaTime;
  static constexpr double kStaticFriction = 0.45, kDynamicFriction = 0.1, kBlockDrag = 0.5;
  static constexpr int kAgents = 3, kBlocks = 6, kMaxEnvironmentSteps = 5000;
  static constexpr int kGrid = 20, kChannels = 6;
  enum Channel { kWall = 0, kAgent = 1, kGoal = 2, kBlockSmall = 3 };

  struct Walker {
    double x, z, heading, vx, vz;
  };
  struct Block {
    double x, z, vx, vz, half, mass;
    int size;  // 1, 2 or 3: its value and its channel (kBlockSmall + size - 1)
    bool active;
  };
  struct Area {
    Walker agents[kAgents];
    Block blocks[kBlocks];
    int timer, remaining;
  };

  // Option `areas` (independent areas per copy, 4 by default).
  explicit PushBlockCollab(const Options& options) {
    check_options("PushBlockCollab", options, {"areas"});
    const int areas = areas_option("PushBlockCollab", options, 4);
    info_.behavior = "PushBlockCollab";
    info_.agents_per_env = kAgents * areas;
    info_.observations = {{{kChannels, kGrid, kGrid}, false, "GridSensor"}};
    info_.discrete_branches = {7};
    info_.decision_period = 5;
  }

  const EnvInfo& info() const { return info_; }

  void begin_episode(Area& a, Rng& rng) const {
    int placed = 0;
    double xs[kAgents + kBlocks], zs[kAgents + kBlocks], halves[kAgents + kBlocks];
    auto spawn = [&](double half, double& x, double& z) {
      for (int attempt = 0; attempt < 1000; ++attempt) {
        x = uniform(rng, -kSpawnHalf, kSpawnHalf);
        z = uniform(rng, -kSpawnHalf, kSpawnHalf);
        bool free = true;
        for (int k = 0; k < placed && free; ++k) {
          free = std::abs(x - xs[k]) >= kCheckHalf + halves[k] ||
                 std::abs(z - zs[k]) >= kCheckHalf + halves[k];
        }
        if (free) break;
      }
      xs[placed] = x, zs[placed] = z, halves[placed] = half;
      ++placed;
    };
    for (Walker& w : a.agents) {
      spawn(kAgentRadius, w.x, w.z);
      w.heading = uniform(rng, 0.0, 360.0);
      w.vx = w.vz = 0.0;
    }
    for (int b = 0; b < kBlocks; ++b) {
      Block& block = a.blocks[b];
      block.size = 1 + b / 2;
      block.half = 0.5 * block.size;
      block.mass = block.size == 1 ? 10.0 : (block.size == 2 ? 100.0 : 150.0);
      spawn(block.half, block.x, block.z);
      block.vx = block.vz = 0.0;
      block.active = true;
    }
    a.timer = 0;
    a.remaining = kBlocks;
  }

  // One physics step with the agents' actions; the group's reward added to `group_reward`.
  // Returns 1 when the last block was scored, -1 when the episode was interrupted, else 0.
  int tick(Area& a, const std::int32_t* actions, float& group_reward) const {
    if (++a.timer >= kMaxEnvironmentSteps) return -1;
    for (int i = 0; i < kAgents; ++i) drive(a.agents[i], actions[i]);
    for (Block& b : a.blocks) {
      if (b.active) push(a, b);
    }
    for (Block& b : a.blocks) {
      if (!b.active) continue;
      b.x += b.vx * kFixedDeltaTime;
      b.z += b.vz * kFixedDeltaTime;
      keep_within(b.x, b.z, b.vx, b.vz, kHalfFloor - b.half, kHalfFloor - b.half);
    }
    for (int i = 0; i < kBlocks; ++i) {
      for (int j = i + 1; j < kBlocks; ++j) separate_blocks(a.blocks[i], a.blocks[j]);
    }
    for (Walker& w : a.agents) {
      w.x += w.vx * kFixedDeltaTime;
      w.z += w.vz * kFixedDeltaTime;
      for (const Block& b : a.blocks) {
        if (b.active)
          push_disc_out_of_box(w.x, w.z, w.vx, w.vz, kAgentRadius, b.x, b.z, b.half, b.half);
      }
    }
    for (int i = 0; i < kAgents; ++i) {
      for (int j = i + 1; j < kAgents; ++j) separate_discs(a.agents[i], a.agents[j], kAgentRadius);
    }
    for (Walker& w : a.agents) {
      keep_within(w.x, w.z, w.vx, w.vz, kHalfFloor - kAgentRadius, kHalfFloor - kAgentRadius);
    }
    for (Block& b : a.blocks) {
      if (b.active && b.z - b.half <= kGoalFace) {
        b.active = false;
        group_reward += static_cast<float>(b.size);
        if (--a.remaining == 0) return 1;
      }
    }
    group_reward += -0.5f / kMaxEnvironmentSteps;
    return 0;
  }

  // Agent i's grid (6 x 20 x 20, channel-first).
  void observe(const Area& a, int i, float* out) const {
    std::fill(out, out + kChannels * kGrid * kGrid, 0.0f);
    const Walker& w = a.agents[i];
    const double h = w.heading * kDegToRadians;
    const double fx = std::sin(h), fz = std::cos(h);  // forward; right is (fz, -fx)
    for (int row = 0; row < kGrid; ++row) {
      const double ahead = (kGrid - 1) * 0.5 - row;
      for (int col = 0; col < kGrid; ++col) {
        const double right = col - (kGrid - 1) * 0.5;
        const double x = w.x + right * fz + ahead * fx, z = w.z - right * fx + ahead * fz;
        const int channel = what_is_at(a, i, x, z);
        if (channel >= 0) out[(channel * kGrid + row) * kGrid + col] = 1.0f;
      }
    }
  }

 private:
  static void drive(Walker& w, int act) {
    if (act == 3) w.heading += kTurnDegrees;
    if (act == 4) w.heading -= kTurnDegrees;
    const double h = w.heading * kDegToRadians;
    const double fx = std::sin(h), fz = std::cos(h);
    double mx = 0.0, mz = 0.0;
    if (act == 1) mx = fx, mz = fz;
    if (act == 2) mx = -fx, mz = -fz;
    if (act == 5) mx = -0.75 * fz, mz = 0.75 * fx;
    if (act == 6) mx = 0.75 * fz, mz = -0.75 * fx;
    w.vx += mx * kRunSpeed;
    w.vz += mz * kRunSpeed;
    damp_and_brake(w.vx, w.vz, kAgentDrag, kFixedDeltaTime, kAgentBrake);
  }

  // The agents touching block `b` and moving into it share their momentum along their push with
  // the block's, less its friction; they then move with it along their push.
  static void push(Area& a, Block& b) {
    double nx[kAgents] = {}, nz[kAgents] = {};
    bool pushing[kAgents] = {};
    double px = b.mass * b.vx, pz = b.mass * b.vz, mass = b.mass;
    int pushers = 0;
    for (int i = 0; i < kAgents; ++i) {
      Walker& w = a.agents[i];
      pushing[i] = false;
      const double cx = std::clamp(w.x, b.x - b.half, b.x + b.half);
      const double cz = std::clamp(w.z, b.z - b.half, b.z + b.half);
      double dx = cx - w.x, dz = cz - w.z;  // toward the block
      const double dist = std::sqrt(dx * dx + dz * dz);
      if (dist > kAgentRadius + 1e-6 || dist < 1e-12) continue;
      dx /= dist;
      dz /= dist;
      const double into = w.vx * dx + w.vz * dz;
      if (into <= b.vx * dx + b.vz * dz) continue;
      pushing[i] = true;
      nx[i] = dx, nz[i] = dz;
      px += kAgentMass * into * dx;
      pz += kAgentMass * into * dz;
      mass += kAgentMass;
      ++pushers;
    }
    const double momentum = std::sqrt(px * px + pz * pz);
    const bool resting = b.vx == 0.0 && b.vz == 0.0;
    double vx = 0.0, vz = 0.0;
    if (!(resting && momentum <= kStaticFriction * b.mass)) {
      const double friction = kDynamicFriction * b.mass;
      const double keep = momentum > friction ? (momentum - friction) / momentum : 0.0;
      const double damp = 1.0 / (1.0 + kBlockDrag * kFixedDeltaTime);
      vx = px * keep / mass * damp;
      vz = pz * keep / mass * damp;
    }
    b.vx = vx, b.vz = vz;
    if (pushers == 0) return;
    for (int i = 0; i < kAgents; ++i) {
      if (!pushing[i]) continue;
      Walker& w = a.agents[i];
      const double change = (vx * nx[i] + vz * nz[i]) - (w.vx * nx[i] + w.vz * nz[i]);
      w.vx += change * nx[i];
      w.vz += change * nz[i];
    }
  }

  // Two blocks apart along the axis of least overlap (mass-weighted), their approach stopped.
  static void separate_blocks(Block& a, Block& b) {
    if (!a.active || !b.active) return;
    const double ox = a.half + b.half - std::abs(b.x - a.x);
    const double oz = a.half + b.half - std::abs(b.z - a.z);
    if (ox <= 0.0 || oz <= 0.0) return;
    const double share_a = b.mass / (a.mass + b.mass), share_b = a.mass / (a.mass + b.mass);
    const bool along_x = ox < oz;
    const double sign = along_x ? (b.x >= a.x ? 1.0 : -1.0) : (b.z >= a.z ? 1.0 : -1.0);
    double& pa = along_x ? a.x : a.z;
    double& pb = along_x ? b.x : b.z;
    double& va = along_x ? a.vx : a.vz;
    double& vb = along_x ? b.vx : b.vz;
    const double depth = along_x ? ox : oz;
    pa -= sign * depth * share_a;
    pb += sign * depth * share_b;
    if ((vb - va) * sign < 0.0) {
      const double common = (a.mass * va + b.mass * vb) / (a.mass + b.mass);
      va = vb = common;
    }
  }

  // The channel of what holds the point (x, z) for agent i, or -1 for bare floor.
  static int what_is_at(const Area& a, int i, double x, double z) {
    for (const Block& b : a.blocks) {
      if (b.active && std::abs(x - b.x) <= b.half && std::abs(z - b.z) <= b.half) {
        return kBlockSmall + b.size - 1;
      }
    }
    for (int j = 0; j < kAgents; ++j) {
      const double dx = x - a.agents[j].x, dz = z - a.agents[j].z;
      if (j != i && dx * dx + dz * dz <= kAgentRadius * kAgentRadius) return kAgent;
    }
    if (std::abs(x) > kHalfFloor || std::abs(z) > kHalfFloor) return kWall;
    if (z < kGoalFace) return kGoal;
    return -1;
  }

  EnvInfo info_;
};

// The copies of PushBlockCollab: an area's three agents (slots 3k .. 3k + 2, one group) end their
// episodes together, so this is its own VecEnv rather than a VecEnvOf.
class PushBlockCollabVecEnv final : public VecEnv {
 public:
  using Rules = PushBlockCollab;

  PushBlockCollabVecEnv(Rules rules, int num_envs, int num_threads)
      : VecEnv(rules.info(), num_envs, num_threads),
        rules_(std::move(rules)),
        areas_(static_cast<std::size_t>(num_slots() / Rules::kAgents)),
        running_return_(static_cast<std::size_t>(num_slots()), 0.0),
        running_length_(static_cast<std::size_t>(num_slots()), 0) {
    for (int slot = 0; slot < num_slots(); ++slot)
      arrays_.group_id[slot] = 1 + slot / Rules::kAgents;
  }

 protected:
  void reset_copy(int env) override {
    for (int area = first_area(env); area < first_area(env + 1); ++area) {
      begin(env, area);
      for (int slot = kA * area; slot < kA * area + kA; ++slot) {
        arrays_.reward[slot] = arrays_.group_reward[slot] = 0.0f;
        arrays_.terminated[slot] = arrays_.truncated[slot] = 0;
        arrays_.episode_return[slot] = 0.0f;
        arrays_.episode_length[slot] = 0;
        arrays_.absent[slot] = 0;
      }
      observe(area, arrays_.obs);
    }
  }

  void step_copy(int env) override {
    for (int area = first_area(env); area < first_area(env + 1); ++area) {
      Rules::Area& a = areas_[static_cast<std::size_t>(area)];
      const std::int32_t* actions = arrays_.discrete.data() + static_cast<std::size_t>(kA * area);
      float group_reward = 0.0f;
      int outcome = 0;
      for (int tick = 0; tick < info_.decision_period && outcome == 0; ++tick) {
        outcome = rules_.tick(a, actions, group_reward);
      }
      for (int slot = kA * area; slot < kA * area + kA; ++slot) {
        arrays_.reward[slot] = 0.0f;
        arrays_.group_reward[slot] = group_reward;
        arrays_.terminated[slot] = outcome == 1;
        arrays_.truncated[slot] = outcome == -1;
        running_length_[slot] += 1;
      }
      if (outcome != 0) {
        observe(area, arrays_.terminal_obs);
        for (int slot = kA * area; slot < kA * area + kA; ++slot) {
          arrays_.episode_return[slot] = static_cast<float>(running_return_[slot]);
          arrays_.episode_length[slot] = running_length_[slot];
        }
        begin(env, area);
      }
      observe(area, arrays_.obs);
    }
  }

 private:
  static constexpr int kA = Rules::kAgents;

  int first_area(int env) const { return env * info_.agents_per_env / kA; }

  void begin(int env, int area) {
    rules_.begin_episode(areas_[static_cast<std::size_t>(area)], copy_rng(env));
    for (int slot = kA * area; slot < kA * area + kA; ++slot) {
      running_return_[slot] = 0.0;
      running_length_[slot] = 0;
    }
  }

  void observe(int area, std::vector<std::vector<float>>& target) {
    constexpr std::size_t kSize = Rules::kChannels * Rules::kGrid * Rules::kGrid;
    for (int agent = 0; agent < kA; ++agent) {
      const std::size_t slot = static_cast<std::size_t>(kA * area + agent);
      rules_.observe(areas_[static_cast<std::size_t>(area)], agent,
                     target[0].data() + slot * kSize);
    }
  }

  Rules rules_;
  std::vector<Rules::Area> areas_;
  std::vector<double>
      running_return_;  // the agents' own rewards (none here: the group's are apart)
  std::vector<std::int32_t> running_length_;
};

}  // namespace mlaf::envs
