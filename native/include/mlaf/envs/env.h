// What every native environment declares, and the small helpers they share.
//
// An environment here is the rule set of ONE agent (3DBall's twelve platforms and
// GridWorld's nine areas are independent agents in the scene). The VecEnv driver runs
// num_envs x agents_per_env of them and owns everything ML-Agents' Agent class does:
// the decision period (the action repeated on the physics steps in between), MaxStep
// with `interrupted`, the reward reported at each decision, auto-reset and the final
// observation. An environment class provides:
//
//   struct Agent { ... };                         // the state of one agent
//   explicit Env(const Options& options);          // construction options (shape-changing)
//   const EnvInfo& info() const;
//   void begin_episode(Agent&, Rng&, const double* parameters) const;  // OnEpisodeBegin
//   bool tick(Agent&, const AgentAction&, float& reward) const;       // one physics step
//   void observe(Agent&, float* const* obs) const;                    // CollectObservations
//   (stacks may update) void write_mask(const Agent&, std::uint8_t* mask) const;          // 1 =
//   action not allowed
//
// `tick` applies Unity's SetReward (assign) or AddReward (add) to `reward`, and returns
// true when the agent calls EndEpisode. `parameters` holds one value per name in
// info().parameter_names, drawn for this episode.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "mlaf/rng.h"

namespace mlaf::envs {

// Unity's default fixed time step (Time.fixedDeltaTime).
constexpr double kFixedDeltaTime = 0.02;
constexpr int kMaxObservations = 8;
constexpr int kMaxParameters = 16;

struct ObservationInfo {
  std::vector<int> shape;  // (size,) or channel-first (C, H, W)
  bool goal_signal = false;
  std::string name;

  int size() const {
    int n = 1;
    for (int d : shape) n *= d;
    return n;
  }
};

struct EnvInfo {
  std::string behavior;
  int agents_per_env = 1;
  std::vector<ObservationInfo> observations;
  int continuous_size = 0;
  std::vector<int> discrete_branches;
  int max_step = 0;         // physics steps per episode; 0 = no limit (ML-Agents' MaxStep)
  int decision_period = 1;  // physics steps per decision (DecisionRequester.DecisionPeriod)
  std::vector<std::string> parameter_names;
  std::vector<double> parameter_defaults;
  // The team of each agent of a copy, for games between teams (Tennis: A then B, area by area);
  // empty when the agents are not in teams.
  std::vector<int> teams;

  int mask_width() const {
    int n = 0;
    for (int b : discrete_branches) n += b;
    return n;
  }
};

// Construction options given to make(name, **options), for values that change shapes.
using Options = std::map<std::string, double>;

// Throws std::invalid_argument unless every key of `options` is in `known`.
void check_options(const std::string& env, const Options& options,
                   const std::vector<std::string>& known);
double option_or(const Options& options, const std::string& key, double fallback);

// Option `areas` (independent agents per copy, `fallback` when not given): a whole number from 1
// to 1024, else std::invalid_argument naming `env`.
inline int areas_option(const std::string& env, const Options& options, int fallback) {
  const double areas = option_or(options, "areas", fallback);
  if (!(areas >= 1 && areas <= 1024) || areas != static_cast<double>(static_cast<int>(areas))) {
    throw std::invalid_argument(env + " option 'areas' must be a whole number from 1 to 1024.");
  }
  return static_cast<int>(areas);
}

struct AgentAction {
  const float* continuous;
  const std::int32_t* discrete;
};

// Uniform double in [0, 1) from the top 53 bits.
inline double uniform01(Rng& rng) { return static_cast<double>(rng.next() >> 11) * 0x1.0p-53; }
inline double uniform(Rng& rng, double low, double high) {
  return low + (high - low) * uniform01(rng);
}

// One ray of ML-Agents' RayPerceptionSensor: the tag's one-hot over `tags` slots, then 1 if
// nothing was hit, then the hit fraction of the ray's length (1 on a miss). `tag` < 0: a miss.
inline void write_ray(float* out, int tags, int tag, double fraction) {
  for (int i = 0; i < tags + 2; ++i) out[i] = 0.0f;
  if (tag < 0) {
    out[tags] = 1.0f;
    out[tags + 1] = 1.0f;
  } else {
    out[tag] = 1.0f;
    out[tags + 1] = static_cast<float>(fraction);
  }
}

// One physics step of a body sliding on the ground: PhysX's damping v / (1 + drag dt), then
// friction taking `brake` (mu g dt) off the speed; a body slower than that stops.
inline void damp_and_brake(double& vx, double& vz, double drag, double dt, double brake) {
  const double keep = 1.0 / (1.0 + drag * dt);
  vx *= keep;
  vz *= keep;
  const double speed = std::sqrt(vx * vx + vz * vz);
  const double scale = speed > brake ? (speed - brake) / speed : 0.0;
  vx *= scale;
  vz *= scale;
}

// A disc (centre x, z, radius `radius`, velocity vx, vz) out of an axis-aligned box (centre cx,
// cz, half sides hx, hz): moved out along the contact normal, its velocity into the box stopped.
// False when they do not touch; else true, with `approach` the speed into the box before it was
// stopped and (normal_x, normal_z) the normal pointing out of the box (each optional).
inline bool push_disc_out_of_box(double& x, double& z, double& vx, double& vz, double radius,
                                 double cx, double cz, double hx, double hz,
                                 double* approach = nullptr, double* normal_x = nullptr,
                                 double* normal_z = nullptr) {
  const double px = x < cx - hx ? cx - hx : (x > cx + hx ? cx + hx : x);
  const double pz = z < cz - hz ? cz - hz : (z > cz + hz ? cz + hz : z);
  double nx = x - px, nz = z - pz;
  const double dist = std::sqrt(nx * nx + nz * nz);
  double depth;
  if (dist > 1e-12) {
    if (dist > radius + 1e-9) return false;
    nx /= dist;
    nz /= dist;
    depth = radius - dist;
  } else {  // the centre inside the box: out through the nearest side
    const double gaps[4] = {cx + hx - x, x - (cx - hx), cz + hz - z, z - (cz - hz)};
    int side = 0;
    for (int k = 1; k < 4; ++k) side = gaps[k] < gaps[side] ? k : side;
    nx = side == 0 ? 1.0 : side == 1 ? -1.0 : 0.0;
    nz = side == 2 ? 1.0 : side == 3 ? -1.0 : 0.0;
    depth = radius + gaps[side];
  }
  if (depth > 0.0) {
    x += nx * depth;
    z += nz * depth;
  }
  const double into = -(vx * nx + vz * nz);
  if (into > 0.0) {
    vx += into * nx;
    vz += into * nz;
  }
  if (approach != nullptr) *approach = into;
  if (normal_x != nullptr) *normal_x = nx;
  if (normal_z != nullptr) *normal_z = nz;
  return true;
}

// Where a ray from (ox, oz), relative to a box's centre, along (dx, dz) (its whole length: t in
// [0, 1]) enters the box of half sides (gx, gz) (grown by a sphere cast's radius): true with
// `enter` when the ray's line crosses the box at t >= 0 (the caller checks it against t <= 1
// and nearer hits).
inline bool ray_enters_box(double ox, double oz, double dx, double dz, double gx, double gz,
                           double& enter) {
  double first = -1e300, last = 1e300;
  const double origin[2] = {ox, oz}, dir[2] = {dx, dz}, grown[2] = {gx, gz};
  for (int k = 0; k < 2; ++k) {
    if (std::abs(dir[k]) < 1e-12) {
      if (std::abs(origin[k]) > grown[k]) return false;
      continue;
    }
    const double t1 = (-grown[k] - origin[k]) / dir[k], t2 = (grown[k] - origin[k]) / dir[k];
    first = std::max(first, std::min(t1, t2));
    last = std::min(last, std::max(t1, t2));
  }
  enter = first;
  return last >= first && first >= 0.0;
}

constexpr double kDegToRadians = 3.14159265358979323846 / 180.0;

// One physics step of an agent driven as ML-Agents' single-branch examples (Pyramids, Hallway)
// drive theirs: action 1 adds `run_speed` along the heading (degrees clockwise from +z) as a
// velocity change, 2 takes it away, 3 turns `turn_degrees` clockwise, 4 back; then
// damp_and_brake, then the move over one fixed time step.
inline void drive(int act, double& x, double& z, double& heading, double& vx, double& vz,
                  double run_speed, double turn_degrees, double drag, double brake) {
  const double h = heading * kDegToRadians;
  const double fx = std::sin(h), fz = std::cos(h);
  if (act == 1) vx += fx * run_speed, vz += fz * run_speed;
  if (act == 2) vx -= fx * run_speed, vz -= fz * run_speed;
  if (act == 3) heading += turn_degrees;
  if (act == 4) heading -= turn_degrees;
  damp_and_brake(vx, vz, drag, kFixedDeltaTime, brake);
  x += vx * kFixedDeltaTime;
  z += vz * kFixedDeltaTime;
}

// A body held inside |x| <= bound_x, |z| <= bound_z, its velocity out of the box stopped.
inline void keep_within(double& x, double& z, double& vx, double& vz, double bound_x,
                        double bound_z) {
  if (x < -bound_x) x = -bound_x, vx = std::max(vx, 0.0);
  if (x > bound_x) x = bound_x, vx = std::min(vx, 0.0);
  if (z < -bound_z) z = -bound_z, vz = std::max(vz, 0.0);
  if (z > bound_z) z = bound_z, vz = std::min(vz, 0.0);
}

// Two discs of equal mass and radius `radius` (centres and velocities as fields x, z, vx, vz of
// `a` and `b`) apart, half each, their approach along the line of centres stopped (inelastic).
template <typename Disc>
inline void separate_discs(Disc& a, Disc& b, double radius) {
  double nx = b.x - a.x, nz = b.z - a.z;
  const double dist = std::sqrt(nx * nx + nz * nz);
  if (dist >= 2.0 * radius || dist <= 1e-12) return;
  nx /= dist;
  nz /= dist;
  const double half_depth = 0.5 * (2.0 * radius - dist);
  a.x -= nx * half_depth;
  a.z -= nz * half_depth;
  b.x += nx * half_depth;
  b.z += nz * half_depth;
  const double approach = (b.vx - a.vx) * nx + (b.vz - a.vz) * nz;
  if (approach < 0.0) {
    a.vx += 0.5 * approach * nx;
    a.vz += 0.5 * approach * nz;
    b.vx -= 0.5 * approach * nx;
    b.vz -= 0.5 * approach * nz;
  }
}

inline float clampf(float value, float low, float high) {
  return value < low ? low : (value > high ? high : value);
}

}  // namespace mlaf::envs
