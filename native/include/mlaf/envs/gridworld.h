// GridWorld (ML-Agents' Examples/GridWorld): an agent on a gridSize x gridSize grid
// with numPlusGoals green "+" and numExGoals red "x" goals, all on distinct random
// cells. A goal signal (one-hot of size 2: +, x) says which kind to reach this
// episode. One discrete branch of 5: 0 noop, 1 up (+z), 2 down (-z), 3 left (-x),
// 4 right (+x); moves off the grid are masked. -0.01 per step; stepping on a goal
// ends the episode with SetReward(+1) if it is the signalled kind, else -1.
// MaxStep 100, nine agents per area as in the scene.
//
// The top-down camera is rendered channel-first (RGB) at a fixed `resolution` (an
// option, default 32) whatever the grid size, as Unity's camera is: walls grey, goals
// green and red, the agent blue, the floor black.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>

#include "mlaf/envs/env.h"

namespace mlaf::envs {

class GridWorld {
 public:
  static constexpr int kMaxGridSize = 32;
  static constexpr int kMaxGoals = 16;
  enum Cell : std::uint8_t { kFloor = 0, kWall = 1, kPlus = 2, kEx = 3, kAgent = 4 };

  struct Agent {
    int grid_size;
    int x, z;
    int goal_kind;  // kPlus or kEx: what the goal signal asks for
    int num_goals;
    std::array<std::array<int, 3>, kMaxGoals> goals;  // x, z, kind
  };

  explicit GridWorld(const Options& options) {
    check_options("GridWorld", options, {"resolution"});
    resolution_ = static_cast<int>(option_or(options, "resolution", 32));
    if (resolution_ < 1 || resolution_ > 512) {
      throw std::invalid_argument(
          "GridWorld option 'resolution' must be an integer from 1 to 512; got " +
          std::to_string(resolution_) + ".");
    }
    info_.behavior = "GridWorld";
    info_.agents_per_env = 9;
    info_.observations = {{{3, resolution_, resolution_}, false, "CameraSensor"},
                          {{2}, true, "GoalSignal"}};
    info_.discrete_branches = {5};
    info_.max_step = 100;
    info_.parameter_names = {"gridSize", "numPlusGoals", "numExGoals"};
    info_.parameter_defaults = {5.0, 1.0, 1.0};
  }

  const EnvInfo& info() const { return info_; }

  // Sampled sizes are rounded and clamped: gridSize to [2, 32], goal counts so that
  // agent and goals fit on distinct cells (at most 16 goals).
  void begin_episode(Agent& a, Rng& rng, const double* p) const {
    a.grid_size = std::clamp(static_cast<int>(std::lround(p[0])), 2, kMaxGridSize);
    const int cells = a.grid_size * a.grid_size;
    const int plus =
        std::clamp(static_cast<int>(std::lround(p[1])), 0, std::min(kMaxGoals, cells - 1));
    const int ex = std::clamp(static_cast<int>(std::lround(p[2])), 0,
                              std::min(kMaxGoals - plus, cells - 1 - plus));
    a.num_goals = plus + ex;
    // Distinct cells: rejection sampling is cheap while the grid is mostly empty.
    std::array<int, kMaxGoals + 1> taken{};
    for (int i = 0; i <= a.num_goals; ++i) {
      int cell;
      do {
        cell = static_cast<int>(rng.below(static_cast<std::uint64_t>(cells)));
      } while (std::find(taken.begin(), taken.begin() + i, cell) != taken.begin() + i);
      taken[i] = cell;
    }
    a.x = taken[0] % a.grid_size;
    a.z = taken[0] / a.grid_size;
    for (int i = 0; i < a.num_goals; ++i) {
      a.goals[i] = {taken[i + 1] % a.grid_size, taken[i + 1] / a.grid_size, i < plus ? kPlus : kEx};
    }
    a.goal_kind = rng.below(2) == 0 ? kPlus : kEx;
  }

  bool tick(Agent& a, const AgentAction& action, float& reward) const {
    static constexpr int kDx[5] = {0, 0, 0, -1, 1};
    static constexpr int kDz[5] = {0, 1, -1, 0, 0};
    const int choice = action.discrete[0];
    const int nx = a.x + kDx[choice], nz = a.z + kDz[choice];
    if (nx >= 0 && nx < a.grid_size && nz >= 0 && nz < a.grid_size) {
      a.x = nx;
      a.z = nz;
    }
    reward += -0.01f;
    for (int i = 0; i < a.num_goals; ++i) {
      if (a.goals[i][0] == a.x && a.goals[i][1] == a.z) {
        reward = a.goals[i][2] == a.goal_kind ? 1.0f : -1.0f;
        return true;
      }
    }
    return false;
  }

  void observe(const Agent& a, float* const* obs) const {
    render(a, obs[0]);
    obs[1][0] = a.goal_kind == kPlus ? 1.0f : 0.0f;
    obs[1][1] = a.goal_kind == kEx ? 1.0f : 0.0f;
  }

  void write_mask(const Agent& a, std::uint8_t* mask) const {
    mask[0] = 0;
    mask[1] = a.z == a.grid_size - 1;
    mask[2] = a.z == 0;
    mask[3] = a.x == 0;
    mask[4] = a.x == a.grid_size - 1;
  }

 private:
  void render(const Agent& a, float* image) const {
    // The camera sees the grid plus its ring of walls: (gridSize + 2) cells a side.
    const int side = a.grid_size + 2;
    std::array<std::uint8_t, (kMaxGridSize + 2) * (kMaxGridSize + 2)> cells{};
    for (int row = 0; row < side; ++row) {
      for (int col = 0; col < side; ++col) {
        const bool wall = row == 0 || col == 0 || row == side - 1 || col == side - 1;
        cells[row * side + col] = wall ? kWall : kFloor;
      }
    }
    // Row 0 of the image is the top: the largest z.
    auto cell_of = [&](int x, int z) -> std::uint8_t& {
      return cells[(side - 2 - z) * side + (x + 1)];
    };
    for (int i = 0; i < a.num_goals; ++i)
      cell_of(a.goals[i][0], a.goals[i][1]) = static_cast<Cell>(a.goals[i][2]);
    cell_of(a.x, a.z) = kAgent;
    static constexpr float kColor[5][3] = {
        {0, 0, 0}, {0.5f, 0.5f, 0.5f}, {0, 1, 0}, {1, 0, 0}, {0, 0, 1}};
    const int r = resolution_;
    const std::size_t plane = static_cast<std::size_t>(r) * r;
    for (int py = 0; py < r; ++py) {
      const int row = py * side / r;
      for (int px = 0; px < r; ++px) {
        const float* color = kColor[cells[row * side + px * side / r]];
        const std::size_t at = static_cast<std::size_t>(py) * r + px;
        image[at] = color[0];
        image[plane + at] = color[1];
        image[2 * plane + at] = color[2];
      }
    }
  }

  int resolution_;
  EnvInfo info_;
};

}  // namespace mlaf::envs
