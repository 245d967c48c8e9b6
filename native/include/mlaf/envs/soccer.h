// Soccer (ML-Agents' Examples/Soccer, the SoccerTwos scene), top-down in two dimensions: on each
// field two teams of two play a ball into the other team's goal. x runs along the field, z across;
// headings are degrees clockwise from +z (forward (sin h, cos h)).
//
// Field: walls at |x| = 15.5 and |z| = 7.5; each end's wall opens on a goal mouth |z| < 4.15.
// Blue (team 0, slots 0 and 1 of a field) defends the goal at -x and attacks +x; purple (team 1,
// slots 2 and 3) the other way. Each team is a group (group id 1 + 2 field + team, counted over
// all copies). A new game (SoccerEnvController.ResetScene): each player at its start point, x
// moved by U(-5, 5) (blue at (-7, +-3), purple at (7, +-3)), facing the other goal turned by
// U(-10, 10) degrees (headings U(80, 100) and -U(80, 100)), still; then the ball at
// (U(-2.5, 2.5), U(-2.5, 2.5)), still.
//
// Actions (AgentSoccer, the Generic position), three branches of 3, repeated on each of the 5
// physics steps (0.02 s) of a decision: forward (1 ahead at speed 1, 2 back), sideways (1 right,
// 2 left, at 0.3; it replaces the forward move, as ML-Agents' switch does), turn (1 left, 2 right,
// 2 degrees a step). The move adds 2 (agentRunSpeed) x the speed to the velocity
// (ForceMode.VelocityChange), then PhysX's damping (drag 3) and ground friction (0.6 g dt off the
// speed) slow it. Players are discs of radius 0.5 held inside the walls; two that overlap are
// pushed apart half each and their approach stopped (equal masses, inelastic).
//
// The ball (radius 0.62, mass 3, drag 1) rolls without friction and bounces off the walls with
// restitution 0.8. A player touching it pushes it out along the line of centres and reflects its
// approach (restitution 0.8, the 50 kg player unmoved); on the step the touch begins
// (OnCollisionEnter) a player that moved forward kicks it: 2000 N for a step on 3 kg, 13.3 m/s
// along the line of centres. Each touch that begins pays the player 0.2 x `ball_touch` (default
// 0, as the scene's).
//
// A goal (the ball's centre past the goal line by its radius, inside the mouth): the scorers'
// group gets 1 - t / 5000 and the other group -1 (t the physics steps of this game), both groups'
// episodes end, and a new game starts. After 5000 physics steps (MaxEnvironmentSteps) the game is
// interrupted: every episode ends truncated, and a new game starts.
//
// Observations: two RayPerceptionSensor3Ds, sphere casts of radius 0.5 and length 20 with tags
// ball, own goal, opponents' goal, wall, teammate, opponent (per ray the tag's one-hot, 1 if
// nothing was hit, and the hit distance / 20, 1 when nothing was hit; an obstacle the cast starts
// inside is not seen), 3 decisions stacked oldest first: forward 11 rays (0, 12, -12, ... 60,
// -60 degrees from the heading, positive to the right: ML-Agents' order), 264 floats; backward 3
// rays (0, 45, -45 degrees about the opposite heading), 72 floats. Goals are seen where a ray
// meets the goal line inside a mouth; the walls elsewhere.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "mlaf/envs/vec_env.h"

namespace mlaf::envs {

class Soccer {
 public:
  static constexpr double kHalfLength = 15.5, kHalfWidth = 7.5, kGoalHalfWidth = 4.15;
  static constexpr double kStartX = 7.0, kStartZ = 3.0;
  static constexpr double kAgentRadius = 0.5, kBallRadius = 0.62;
  static constexpr double kRunSpeed = 2.0, kForwardSpeed = 1.0, kLateralSpeed = 0.3;
  static constexpr double kTurnDegrees = 100.0 * kFixedDeltaTime;
  static constexpr double kAgentDrag = 3.0, kBallDrag = 1.0, kBounce = 0.8;
  static constexpr double kBrake = 0.6 * 9.81 * kFixedDeltaTime;
  static constexpr double kKick = 2000.0 * kFixedDeltaTime / 3.0;
  static constexpr int kMaxEnvironmentSteps = 5000;
  static constexpr double kRayLength = 20.0, kRayRadius = 0.5;
  static constexpr int kTags = 6, kPerRay = kTags + 2, kStack = 3;
  static constexpr int kForwardRays = 11, kBackRays = 3;
  static constexpr int kForwardFrame = kForwardRays * kPerRay, kBackFrame = kBackRays * kPerRay;
  static constexpr int kPlayers = 4;
  enum Tag { kBall = 0, kOwnGoal = 1, kOpponentGoal = 2, kWall = 3, kTeammate = 4, kOpponent = 5 };
  static constexpr int kInterrupted = -2;  // tick(): MaxEnvironmentSteps reached

  struct Player {
    double x, z, heading, vx, vz;
    bool touching;  // the ball, at the end of the last physics step
    float forward[kStack * kForwardFrame];
    float back[kStack * kBackFrame];
  };
  struct Field {
    Player players[kPlayers];
    double ball_x, ball_z, ball_vx, ball_vz;
    int timer;  // physics steps of this game
    double ball_touch;
  };

  // Option `areas` (fields per copy, 8 by default).
  explicit Soccer(const Options& options) {
    check_options("SoccerTwos", options, {"areas"});
    const int fields = areas_option("SoccerTwos", options, 8);
    info_.behavior = "SoccerTwos";
    info_.agents_per_env = kPlayers * fields;
    info_.observations = {{{kStack * kForwardFrame}, false, "RayPerceptionSensorForward"},
                          {{kStack * kBackFrame}, false, "RayPerceptionSensorBackward"}};
    info_.discrete_branches = {3, 3, 3};
    info_.decision_period = 5;
    info_.parameter_names = {"ball_touch"};
    info_.parameter_defaults = {0.0};
    for (int field = 0; field < fields; ++field)
      info_.teams.insert(info_.teams.end(), {0, 0, 1, 1});
  }

  const EnvInfo& info() const { return info_; }

  static int team(int player) { return player / 2; }

  void begin_game(Field& f, Rng& rng, const double* parameters) const {
    for (int i = 0; i < kPlayers; ++i) {
      Player& p = f.players[i];
      const double side = team(i) == 0 ? -1.0 : 1.0;
      p.x = side * kStartX + uniform(rng, -5.0, 5.0);
      p.z = i % 2 == 0 ? kStartZ : -kStartZ;
      p.heading = -side * uniform(rng, 80.0, 100.0);
      p.vx = p.vz = 0.0;
      p.touching = false;
      std::fill(p.forward, p.forward + kStack * kForwardFrame, 0.0f);
      std::fill(p.back, p.back + kStack * kBackFrame, 0.0f);
    }
    f.ball_x = uniform(rng, -2.5, 2.5);
    f.ball_z = uniform(rng, -2.5, 2.5);
    f.ball_vx = f.ball_vz = 0.0;
    f.timer = 0;
    f.ball_touch = parameters[0];
  }

  // One physics step with the players' actions ([4, 3]); each touch's reward added to `rewards`.
  // Returns the team that scored, kInterrupted, or -1.
  int tick(Field& f, const std::int32_t* actions, float* rewards) const {
    if (++f.timer >= kMaxEnvironmentSteps) return kInterrupted;
    const double dt = kFixedDeltaTime;
    bool kicks[kPlayers];
    for (int i = 0; i < kPlayers; ++i) {
      Player& p = f.players[i];
      const std::int32_t* a = actions + 3 * i;
      const double h = p.heading * kDegToRadians;
      const double fx = std::sin(h), fz = std::cos(h);  // forward; right is (fz, -fx)
      double mx = 0.0, mz = 0.0;
      if (a[0] == 1) mx = fx * kForwardSpeed, mz = fz * kForwardSpeed;
      if (a[0] == 2) mx = -fx * kForwardSpeed, mz = -fz * kForwardSpeed;
      if (a[1] == 1) mx = fz * kLateralSpeed, mz = -fx * kLateralSpeed;
      if (a[1] == 2) mx = -fz * kLateralSpeed, mz = fx * kLateralSpeed;
      if (a[2] == 1) p.heading -= kTurnDegrees;
      if (a[2] == 2) p.heading += kTurnDegrees;
      kicks[i] = a[0] == 1;
      p.vx += mx * kRunSpeed;
      p.vz += mz * kRunSpeed;
      damp_and_brake(p.vx, p.vz, kAgentDrag, dt, kBrake);
      p.x += p.vx * dt;
      p.z += p.vz * dt;
      keep_within(p.x, p.z, p.vx, p.vz, kHalfLength - kAgentRadius, kHalfWidth - kAgentRadius);
    }
    damp_and_brake(f.ball_vx, f.ball_vz, kBallDrag, dt, 0.0);
    f.ball_x += f.ball_vx * dt;
    f.ball_z += f.ball_vz * dt;
    for (int i = 0; i < kPlayers; ++i) {
      for (int j = i + 1; j < kPlayers; ++j)
        separate_discs(f.players[i], f.players[j], kAgentRadius);
    }
    for (int i = 0; i < kPlayers; ++i) {
      Player& p = f.players[i];
      double nx = f.ball_x - p.x, nz = f.ball_z - p.z;
      const double dist = std::sqrt(nx * nx + nz * nz);
      const bool touching = dist < kAgentRadius + kBallRadius;
      if (touching) {
        if (dist > 1e-12) {
          nx /= dist;
          nz /= dist;
        } else {  // the centres together: out ahead of the player
          const double h = p.heading * kDegToRadians;
          nx = std::sin(h);
          nz = std::cos(h);
        }
        f.ball_x = p.x + nx * (kAgentRadius + kBallRadius);
        f.ball_z = p.z + nz * (kAgentRadius + kBallRadius);
        const double closing = (f.ball_vx - p.vx) * nx + (f.ball_vz - p.vz) * nz;
        if (closing < 0.0) {
          f.ball_vx -= (1.0 + kBounce) * closing * nx;
          f.ball_vz -= (1.0 + kBounce) * closing * nz;
        }
        if (!p.touching) {
          if (kicks[i]) {
            f.ball_vx += kKick * nx;
            f.ball_vz += kKick * nz;
          }
          rewards[i] += static_cast<float>(0.2 * f.ball_touch);
        }
      }
      p.touching = touching;
    }
    const double side_limit = kHalfWidth - kBallRadius, end_limit = kHalfLength - kBallRadius;
    if (std::abs(f.ball_z) > side_limit) {
      f.ball_z = std::copysign(side_limit, f.ball_z);
      f.ball_vz = -kBounce * f.ball_vz;
    }
    if (std::abs(f.ball_x) > end_limit) {
      if (std::abs(f.ball_z) >= kGoalHalfWidth) {  // the wall beside the goal
        f.ball_x = std::copysign(end_limit, f.ball_x);
        f.ball_vx = -kBounce * f.ball_vx;
      } else if (std::abs(f.ball_x) > kHalfLength + kBallRadius) {
        return f.ball_x > 0.0 ? 0 : 1;  // into purple's goal: blue scores
      }
    }
    return -1;
  }

  // Player `i`'s stacked observations after a decision (the newest rays pushed onto each stack).
  void observe(Field& f, int i, float* forward_out, float* back_out) const {
    Player& p = f.players[i];
    std::copy(p.forward + kForwardFrame, p.forward + kStack * kForwardFrame, p.forward);
    std::copy(p.back + kBackFrame, p.back + kStack * kBackFrame, p.back);
    float* forward = p.forward + (kStack - 1) * kForwardFrame;
    float* back = p.back + (kStack - 1) * kBackFrame;
    for (int r = 0; r < kForwardRays; ++r) {
      const double offset = r == 0 ? 0.0 : ((r + 1) / 2) * 12.0 * (r % 2 == 1 ? 1.0 : -1.0);
      double distance = kRayLength;
      const int tag = cast(f, i, p.heading + offset, distance);
      write_ray(forward + r * kPerRay, kTags, tag, distance / kRayLength);
    }
    for (int r = 0; r < kBackRays; ++r) {
      const double offset = r == 0 ? 0.0 : (r == 1 ? 45.0 : -45.0);
      double distance = kRayLength;
      const int tag = cast(f, i, p.heading + 180.0 + offset, distance);
      write_ray(back + r * kPerRay, kTags, tag, distance / kRayLength);
    }
    std::copy(p.forward, p.forward + kStack * kForwardFrame, forward_out);
    std::copy(p.back, p.back + kStack * kBackFrame, back_out);
  }

 private:
  // Where a ray from (ox, oz) along (dx, dz) enters a disc of radius `r` at (cx, cz): t >= 0, or
  // -1 when it misses or starts inside.
  static double enter_disc(double ox, double oz, double dx, double dz, double cx, double cz,
                           double r) {
    const double px = ox - cx, pz = oz - cz;
    const double c = px * px + pz * pz - r * r;
    if (c <= 0.0) return -1.0;
    const double b = px * dx + pz * dz;
    const double disc = b * b - c;
    if (b >= 0.0 || disc < 0.0) return -1.0;
    return -b - std::sqrt(disc);
  }

  // The first thing a sphere cast from player `i` along `degrees` meets within the ray's length.
  static int cast(const Field& f, int i, double degrees, double& distance) {
    const Player& p = f.players[i];
    const double angle = degrees * kDegToRadians;
    const double dx = std::sin(angle), dz = std::cos(angle);
    int tag = -1;
    double best = kRayLength;
    auto consider = [&](double t, int what) {
      if (t >= 0.0 && t <= best) best = t, tag = what;
    };
    const double end = kHalfLength - kRayRadius, side = kHalfWidth - kRayRadius;
    if (std::abs(dx) > 1e-12) {
      const double wall_x = dx > 0.0 ? end : -end;
      const double t = (wall_x - p.x) / dx;
      const double z = p.z + t * dz;
      // The goal at +x is purple's (team 1): its own goal for purple, the opponents' for blue.
      const bool own = (dx > 0.0) == (team(i) == 1);
      consider(t, std::abs(z) < kGoalHalfWidth ? (own ? kOwnGoal : kOpponentGoal) : kWall);
    }
    if (std::abs(dz) > 1e-12) consider(((dz > 0.0 ? side : -side) - p.z) / dz, kWall);
    consider(enter_disc(p.x, p.z, dx, dz, f.ball_x, f.ball_z, kBallRadius + kRayRadius), kBall);
    for (int j = 0; j < kPlayers; ++j) {
      if (j == i) continue;
      const Player& q = f.players[j];
      consider(enter_disc(p.x, p.z, dx, dz, q.x, q.z, kAgentRadius + kRayRadius),
               team(j) == team(i) ? kTeammate : kOpponent);
    }
    distance = best;
    return tag;
  }

  EnvInfo info_;
};

// The copies of SoccerTwos: a field's four players (slots 4k .. 4k + 3) end their episodes
// together, so this is its own VecEnv rather than a VecEnvOf.
class SoccerVecEnv final : public VecEnv {
 public:
  SoccerVecEnv(Soccer rules, int num_envs, int num_threads)
      : VecEnv(rules.info(), num_envs, num_threads),
        rules_(std::move(rules)),
        fields_(static_cast<std::size_t>(num_slots() / Soccer::kPlayers)),
        running_return_(static_cast<std::size_t>(num_slots()), 0.0),
        running_length_(static_cast<std::size_t>(num_slots()), 0) {
    for (int slot = 0; slot < num_slots(); ++slot) {
      arrays_.group_id[slot] = 1 + 2 * (slot / Soccer::kPlayers) + Soccer::team(slot % 4);
    }
  }

 protected:
  void reset_copy(int env) override {
    for (int field = first_field(env); field < first_field(env + 1); ++field) {
      begin(env, field);
      for (int slot = 4 * field; slot < 4 * field + 4; ++slot) {
        arrays_.reward[slot] = arrays_.group_reward[slot] = 0.0f;
        arrays_.terminated[slot] = arrays_.truncated[slot] = 0;
        arrays_.episode_return[slot] = 0.0f;
        arrays_.episode_length[slot] = 0;
        arrays_.absent[slot] = 0;
      }
      observe(field, arrays_.obs);
    }
  }

  void step_copy(int env) override {
    for (int field = first_field(env); field < first_field(env + 1); ++field) {
      Soccer::Field& f = fields_[static_cast<std::size_t>(field)];
      const std::int32_t* actions =
          arrays_.discrete.data() + static_cast<std::size_t>(4 * field) * 3;
      float rewards[Soccer::kPlayers] = {0.0f, 0.0f, 0.0f, 0.0f};
      int outcome = -1;
      for (int tick = 0; tick < info_.decision_period && outcome == -1; ++tick) {
        outcome = rules_.tick(f, actions, rewards);
      }
      const float scored = 1.0f - static_cast<float>(f.timer) / Soccer::kMaxEnvironmentSteps;
      for (int player = 0; player < Soccer::kPlayers; ++player) {
        const int slot = 4 * field + player;
        float group_reward = 0.0f;
        if (outcome >= 0) group_reward = outcome == Soccer::team(player) ? scored : -1.0f;
        arrays_.reward[slot] = rewards[player];
        arrays_.group_reward[slot] = group_reward;
        arrays_.terminated[slot] = outcome >= 0;
        arrays_.truncated[slot] = outcome == Soccer::kInterrupted;
        running_return_[slot] += rewards[player];
        running_length_[slot] += 1;
      }
      if (outcome != -1) {
        observe(field, arrays_.terminal_obs);
        for (int slot = 4 * field; slot < 4 * field + 4; ++slot) {
          arrays_.episode_return[slot] = static_cast<float>(running_return_[slot]);
          arrays_.episode_length[slot] = running_length_[slot];
        }
        begin(env, field);
      }
      observe(field, arrays_.obs);
    }
  }

 private:
  int first_field(int env) const { return env * info_.agents_per_env / Soccer::kPlayers; }

  void begin(int env, int field) {
    double parameters[kMaxParameters];
    draw_parameters(env, parameters);
    rules_.begin_game(fields_[static_cast<std::size_t>(field)], copy_rng(env), parameters);
    for (int slot = 4 * field; slot < 4 * field + 4; ++slot) {
      running_return_[slot] = 0.0;
      running_length_[slot] = 0;
    }
  }

  void observe(int field, std::vector<std::vector<float>>& target) {
    for (int player = 0; player < Soccer::kPlayers; ++player) {
      const std::size_t slot = static_cast<std::size_t>(4 * field + player);
      rules_.observe(fields_[static_cast<std::size_t>(field)], player,
                     target[0].data() + slot * Soccer::kStack * Soccer::kForwardFrame,
                     target[1].data() + slot * Soccer::kStack * Soccer::kBackFrame);
    }
  }

  Soccer rules_;
  std::vector<Soccer::Field> fields_;
  std::vector<double> running_return_;  // summed in double, as ML-Agents sums an episode's rewards
  std::vector<std::int32_t> running_length_;
};

}  // namespace mlaf::envs
