// Tennis (ML-Agents' Examples/Tennis), in the court's vertical plane (x toward the far wall, y up;
// the ball's z is frozen in Unity too): two rackets, one each side of the net, keep a ball in
// play; a point won pays +1 to the winner and -1 to the loser and ends both agents' episodes
// (one point an episode, no step limit). Agent A (team 0) plays x < 0, agent B (team 1) x > 0;
// each sees the court mirrored so that both play "from the left" (m = +1 for A, -1 for B).
//
// Court (relative to the area): the floor's top at y = -6.9; the back walls' inner faces at
// x = +-11.88; the net x in [-0.061, 0.061], its top at y = -6.433. The ball: radius 0.25, elastic
// against everything (ballMat's bounciness 1 with "Maximum" combining), its vx and vy clamped to
// [-9, 9] before each physics step, then gravity. A racket: a 0.988 x 0.127 board turned by its
// angle about z; each physics step of a decision (period 5, actions repeated):
//   a0 (clamped to [-1, 1]): vx = 30 m a0 (positive: toward the net);
//   a1 > 0.5 while y < -1.5: vy = 7 (a jump; again in the air until y reaches -1.5);
//   a2: angle = m (90 + 55 a2) degrees;
// then gravity, the move, the floor under it, its own side (A: x <= -1, B: x >= 1; the walls).
// The ball leaves a racket as from an immovable moving board (its velocity relative to the
// board reflected along the contact normal): the racket's mass (4 against 0.75) and PhysX's
// solver are simplified away.
//
// Scoring (ML-Agents' HitWall, on each contact of the ball, in the order racket A, racket B,
// net, floor, wall): last_hit is 0 (A), 1 (B) or -1 (just served); floor_hit is kService,
// kUnset, kFloorA or kFloorB; `net` marks a ball validly in play over the net.
//   wall on A's side: B wins if last_hit == 0 or floor_hit == kFloorA, else A (mirrored for B);
//   floor A: B wins if last_hit == 0, floor_hit == kFloorA (a second bounce) or kService;
//            else floor_hit = kFloorA, net = true (mirrored for B);
//   net, while !net: last_hit 0 -> B wins, 1 -> A wins;
//   racket A: B wins if last_hit == 0 (a second hit); else net = true when floor_hit is not
//             kService and !net, then last_hit = 0, floor_hit = kUnset (mirrored for B).
// A new point (both agents' OnEpisodeBegin, then TennisArea.MatchReset): A at x = -U(6, 8), B at
// +U(6, 8), both at y = -1.5, still; the ball still at (+-U(6, 8), 6), its side drawn evenly.
// Environment parameter: `gravity` (9.81).
//
// Observations, stacked over the last 3 decisions (oldest first, zeros before the first), 9 a
// decision: m x, y, m vx, vy of the racket; m x, y, m vx, vy of the ball; m times the rotation
// quaternion's z (0 for the Euler(0, -180, angle) rackets, as in Unity).
#pragma once

#include <algorithm>
#include <cmath>

#include "mlaf/envs/vec_env.h"

namespace mlaf::envs {

class Tennis {
 public:
  static constexpr double kFloorTop = -6.9, kWallInner = 11.88;
  static constexpr double kNetHalf = 0.061, kNetTop = -6.433, kNetBottom = -7.5;
  static constexpr double kBallRadius = 0.25, kBallMaxSpeed = 9.0;
  static constexpr double kRacketHalfLength = 0.494, kRacketHalfThickness = 0.0635;
  static constexpr double kMoveSpeed = 30.0, kJumpSpeed = 7.0, kJumpBelow = -1.5;
  static constexpr double kSideLimit = 1.0;
  static constexpr int kObs = 9, kStack = 3;
  enum FloorHit { kService = 0, kUnset = 1, kFloorA = 2, kFloorB = 3 };

  struct Racket {
    double x, y, vx, vy, angle;  // angle in degrees about z
  };
  struct Area {
    Racket racket[2];
    double ball_x, ball_y, ball_vx, ball_vy;
    int last_hit, floor_hit;
    bool net;
    double gravity;
    float frames[2][kStack * kObs];  // each agent's stacked observations, oldest first
  };

  explicit Tennis(const Options& options) {
    check_options("Tennis", options, {"areas"});
    info_.behavior = "Tennis";
    info_.agents_per_env = 2 * areas_option("Tennis", options, 18);
    info_.observations = {{{kStack * kObs}, false, "StackingSensor_size3_VectorSensor_size9"}};
    info_.continuous_size = 3;
    info_.decision_period = 5;
    info_.parameter_names = {"gravity"};
    info_.parameter_defaults = {9.81};
    for (int area = 0; area < info_.agents_per_env / 2; ++area)
      info_.teams.insert(info_.teams.end(), {0, 1});
  }

  const EnvInfo& info() const { return info_; }

  void begin_point(Area& a, Rng& rng, const double* parameters) const {
    for (int side = 0; side < 2; ++side) {
      const double m = side == 0 ? 1.0 : -1.0;
      a.racket[side] = {-m * uniform(rng, 6.0, 8.0), -1.5, 0.0, 0.0, m * 55.0};
      std::fill(a.frames[side], a.frames[side] + kStack * kObs, 0.0f);
    }
    const bool far_side = rng.below(2) == 1;
    const double x = uniform(rng, 6.0, 8.0);
    a.ball_x = far_side ? x : -x;
    a.ball_y = 6.0;
    a.ball_vx = a.ball_vy = 0.0;
    a.last_hit = -1;
    a.floor_hit = kService;
    a.net = false;
    a.gravity = parameters[0];
  }

  // One physics step with both agents' actions; the winner of a point (0: A, 1: B), or -1.
  int tick(Area& a, const float* actions_a, const float* actions_b) const {
    const float* actions[2] = {actions_a, actions_b};
    const double dt = kFixedDeltaTime;
    a.ball_vx = std::clamp(a.ball_vx, -kBallMaxSpeed, kBallMaxSpeed);
    a.ball_vy = std::clamp(a.ball_vy, -kBallMaxSpeed, kBallMaxSpeed);
    for (int side = 0; side < 2; ++side) {
      Racket& r = a.racket[side];
      const double m = side == 0 ? 1.0 : -1.0;
      const double move = clampf(actions[side][0], -1.0f, 1.0f);
      const double jump = clampf(actions[side][1], -1.0f, 1.0f);
      const double turn = clampf(actions[side][2], -1.0f, 1.0f);
      r.vx = kMoveSpeed * m * move;
      if (jump > 0.5 && r.y < kJumpBelow) r.vy = kJumpSpeed;
      r.angle = m * (90.0 + 55.0 * turn);
      r.vy -= a.gravity * dt;
      r.x += r.vx * dt;
      r.y += r.vy * dt;
      const double h = r.angle * kDegToRadians;
      const double reach =
          kRacketHalfLength * std::abs(std::sin(h)) + kRacketHalfThickness * std::abs(std::cos(h));
      if (r.y < kFloorTop + reach) r.y = kFloorTop + reach, r.vy = std::max(r.vy, 0.0);
      const double reach_x =
          kRacketHalfLength * std::abs(std::cos(h)) + kRacketHalfThickness * std::abs(std::sin(h));
      if (side == 0) r.x = std::clamp(r.x, -kWallInner + reach_x, -kSideLimit);
      if (side == 1) r.x = std::clamp(r.x, kSideLimit, kWallInner - reach_x);
    }
    a.ball_vy -= a.gravity * dt;
    a.ball_x += a.ball_vx * dt;
    a.ball_y += a.ball_vy * dt;
    for (int side = 0; side < 2; ++side) {
      if (!hits_racket(a, a.racket[side])) continue;
      const int other = 1 - side;
      if (a.last_hit == side) return other;  // hit twice
      if (a.floor_hit != kService && !a.net) a.net = true;
      a.last_hit = side;
      a.floor_hit = kUnset;
    }
    if (bounce_off_box(a, 0.0, 0.5 * (kNetTop + kNetBottom), kNetHalf,
                       0.5 * (kNetTop - kNetBottom)) &&
        !a.net && a.last_hit >= 0) {
      return 1 - a.last_hit;  // into the net
    }
    if (a.ball_y < kFloorTop + kBallRadius) {
      a.ball_y = kFloorTop + kBallRadius;
      a.ball_vy = std::abs(a.ball_vy);
      const int side = a.ball_x < 0.0 ? 0 : 1;
      const int own_floor = side == 0 ? kFloorA : kFloorB;
      if (a.last_hit == side || a.floor_hit == own_floor || a.floor_hit == kService) {
        return 1 - side;
      }
      a.floor_hit = own_floor;
      a.net = true;
    }
    if (std::abs(a.ball_x) > kWallInner - kBallRadius) {
      const int side = a.ball_x < 0.0 ? 0 : 1;
      a.ball_x = std::copysign(kWallInner - kBallRadius, a.ball_x);
      a.ball_vx = -a.ball_vx;
      const int own_floor = side == 0 ? kFloorA : kFloorB;
      return a.last_hit == side || a.floor_hit == own_floor ? 1 - side : side;
    }
    return -1;
  }

  // Agent `side`'s observations after a decision: the newest frame onto its stack.
  void observe(Area& a, int side, float* out) const {
    float* frames = a.frames[side];
    std::copy(frames + kObs, frames + kStack * kObs, frames);
    float* f = frames + (kStack - 1) * kObs;
    const double m = side == 0 ? 1.0 : -1.0;
    const Racket& r = a.racket[side];
    const double values[kObs - 1] = {m * r.x,      r.y,      m * r.vx,      r.vy,
                                     m * a.ball_x, a.ball_y, m * a.ball_vx, a.ball_vy};
    for (int k = 0; k < kObs - 1; ++k) f[k] = static_cast<float>(values[k]);
    f[kObs - 1] = 0.0f;  // the quaternion's z
    std::copy(frames, frames + kStack * kObs, out);
  }

 private:
  // The ball off the racket's board: true on contact (the ball moved out, its velocity relative
  // to the board reflected when it was closing in).
  static bool hits_racket(Area& a, const Racket& r) {
    const double h = r.angle * kDegToRadians;
    const double c = std::cos(h), s = std::sin(h);
    const double dx = a.ball_x - r.x, dy = a.ball_y - r.y;
    const double along = dx * c + dy * s, across = -dx * s + dy * c;  // the board's frame
    const double px = std::clamp(along, -kRacketHalfLength, kRacketHalfLength);
    const double py = std::clamp(across, -kRacketHalfThickness, kRacketHalfThickness);
    double nx = along - px, ny = across - py;
    const double dist = std::sqrt(nx * nx + ny * ny);
    if (dist > kBallRadius) return false;
    double depth;
    if (dist > 1e-12) {
      nx /= dist;
      ny /= dist;
      depth = kBallRadius - dist;
    } else {  // the centre inside the board: out through the nearer face
      nx = 0.0;
      ny = across >= 0.0 ? 1.0 : -1.0;
      depth = kBallRadius + kRacketHalfThickness - std::abs(across);
    }
    const double wx = nx * c - ny * s, wy = nx * s + ny * c;  // the normal in the court's frame
    a.ball_x += wx * depth;
    a.ball_y += wy * depth;
    const double closing = (a.ball_vx - r.vx) * wx + (a.ball_vy - r.vy) * wy;
    if (closing < 0.0) {
      a.ball_vx -= 2.0 * closing * wx;
      a.ball_vy -= 2.0 * closing * wy;
    }
    return true;
  }

  // The ball off an axis-aligned box (the net): true on contact.
  static bool bounce_off_box(Area& a, double cx, double cy, double hx, double hy) {
    double vx = a.ball_vx, vy = a.ball_vy, approach = 0.0, nx = 0.0, ny = 0.0;
    if (!push_disc_out_of_box(a.ball_x, a.ball_y, vx, vy, kBallRadius, cx, cy, hx, hy, &approach,
                              &nx, &ny)) {
      return false;
    }
    if (approach > 0.0) vx += approach * nx, vy += approach * ny;  // stopped, then reversed
    a.ball_vx = vx;
    a.ball_vy = vy;
    return true;
  }

  EnvInfo info_;
};

// The copies of Tennis: agents come in pairs (slots 2k and 2k + 1: area k's A and B) whose
// episodes end together, so this is its own VecEnv rather than a VecEnvOf.
class TennisVecEnv final : public VecEnv {
 public:
  TennisVecEnv(Tennis rules, int num_envs, int num_threads)
      : VecEnv(rules.info(), num_envs, num_threads),
        rules_(std::move(rules)),
        areas_(static_cast<std::size_t>(num_slots() / 2)),
        running_return_(static_cast<std::size_t>(num_slots()), 0.0),
        running_length_(static_cast<std::size_t>(num_slots()), 0) {}

 protected:
  void reset_copy(int env) override {
    for (int area = first_area(env); area < first_area(env + 1); ++area) {
      begin(env, area);
      for (int slot = 2 * area; slot < 2 * area + 2; ++slot) {
        arrays_.reward[slot] = 0.0f;
        arrays_.terminated[slot] = arrays_.truncated[slot] = 0;
        arrays_.episode_return[slot] = 0.0f;
        arrays_.episode_length[slot] = 0;
      }
      observe(area, arrays_.obs);
    }
  }

  void step_copy(int env) override {
    for (int area = first_area(env); area < first_area(env + 1); ++area) {
      Tennis::Area& a = areas_[static_cast<std::size_t>(area)];
      const float* actions = arrays_.continuous.data() + static_cast<std::size_t>(2 * area) * 3;
      int winner = -1;
      for (int tick = 0; tick < info_.decision_period && winner < 0; ++tick) {
        winner = rules_.tick(a, actions, actions + 3);
      }
      for (int side = 0; side < 2; ++side) {
        const int slot = 2 * area + side;
        const float reward = winner < 0 ? 0.0f : (winner == side ? 1.0f : -1.0f);
        arrays_.reward[slot] = reward;
        arrays_.terminated[slot] = winner >= 0;
        arrays_.truncated[slot] = 0;
        running_return_[slot] += reward;
        running_length_[slot] += 1;
      }
      if (winner >= 0) {
        observe(area, arrays_.terminal_obs);
        for (int slot = 2 * area; slot < 2 * area + 2; ++slot) {
          arrays_.episode_return[slot] = static_cast<float>(running_return_[slot]);
          arrays_.episode_length[slot] = running_length_[slot];
        }
        begin(env, area);
      }
      observe(area, arrays_.obs);
    }
  }

 private:
  int first_area(int env) const { return env * info_.agents_per_env / 2; }

  void begin(int env, int area) {
    double parameters[kMaxParameters];
    draw_parameters(env, parameters);
    rules_.begin_point(areas_[static_cast<std::size_t>(area)], copy_rng(env), parameters);
    for (int slot = 2 * area; slot < 2 * area + 2; ++slot) {
      running_return_[slot] = 0.0;
      running_length_[slot] = 0;
    }
  }

  void observe(int area, std::vector<std::vector<float>>& target) {
    for (int side = 0; side < 2; ++side) {
      const std::size_t slot = static_cast<std::size_t>(2 * area + side);
      rules_.observe(areas_[static_cast<std::size_t>(area)], side,
                     target[0].data() + slot * Tennis::kStack * Tennis::kObs);
    }
  }

  Tennis rules_;
  std::vector<Tennis::Area> areas_;
  std::vector<double> running_return_;  // summed in double, as ML-Agents sums an episode's rewards
  std::vector<std::int32_t> running_length_;
};

}  // namespace mlaf::envs
