// 3DBall and 3DBallHard (ML-Agents' Examples/3DBall): tilt a 5x5 platform to keep a
// ball on it. The platform is kinematic; the ball (radius 0.5 * scale) falls under
// gravity and, while on the top face, rolls without slipping (a solid sphere
// accelerates at 5/7 of gravity's component along the face). Semi-implicit Euler at
// Unity's 0.02 s step, as PhysX integrates. The ball's mass is read but, as for any
// ball rolling on a kinematic platform, does not change the motion.
//
// Per physics step, as Ball3DAgent.OnActionReceived: rotate about z by 2*clamp(a0)
// degrees and about x by 2*clamp(a1) if the quaternion component stays within 0.25
// in the commanded direction; if the ball fell (dy < -2, |dx| > 3 or |dz| > 3)
// SetReward(-1) and EndEpisode, else SetReward(0.1). Decision period 5, MaxStep 5000.
// Observations: rotation.z, rotation.x, ball - platform (3), and for 3DBall the
// ball's velocity (3). 3DBallHard has no velocity; like ML-Agents' scene it stacks its
// last 9 decisions instead (observable attributes with numStackedObservations: 9): the
// ball offsets (9 x 3) then the rotations (9 x 2), oldest first, zeros before the first.
#pragma once

#include <algorithm>
#include <cmath>

#include "mlaf/envs/env.h"

namespace mlaf::envs {

struct Quat {
  double w = 1, x = 0, y = 0, z = 0;
};

// q * (rotation of `degrees` about the unit axis (ax, ay, az)): Unity's Transform.Rotate in
// Space.Self.
inline Quat rotate_local(const Quat& q, double ax, double ay, double az, double degrees) {
  const double half = degrees * (M_PI / 360.0);
  const double s = std::sin(half), c = std::cos(half);
  const double rx = ax * s, ry = ay * s, rz = az * s;
  Quat out;
  out.w = q.w * c - q.x * rx - q.y * ry - q.z * rz;
  out.x = q.w * rx + q.x * c + q.y * rz - q.z * ry;
  out.y = q.w * ry - q.x * rz + q.y * c + q.z * rx;
  out.z = q.w * rz + q.x * ry - q.y * rx + q.z * c;
  return out;
}

class Ball3D {
 public:
  static constexpr double kHalfExtent = 2.5;  // the platform is a unit cube scaled by 5
  static constexpr double kRollFactor = 5.0 / 7.0;

  static constexpr int kStack = 9;  // 3DBallHard's stacked decisions

  struct Agent {
    Quat platform;
    double px, py, pz;  // ball position relative to the platform's centre
    double vx, vy, vz;  // ball velocity
    double gravity, radius, mass;
    float offsets[kStack * 3];  // 3DBallHard: the last decisions' ball offsets, oldest first
    float rotations[kStack * 2];
  };

  Ball3D(const Options& options, bool hard) : hard_(hard) {
    const char* name = hard ? "3DBallHard" : "3DBall";
    check_options(name, options, {});
    info_.behavior = name;
    info_.agents_per_env = 12;
    info_.observations = {{{hard ? kStack * 5 : 8}, false, "VectorSensor"}};
    info_.continuous_size = 2;
    info_.max_step = 5000;
    info_.decision_period = 5;
    info_.parameter_names = {"mass", "gravity", "scale"};
    info_.parameter_defaults = {1.0, 9.81, 1.0};
  }

  const EnvInfo& info() const { return info_; }

  void begin_episode(Agent& a, Rng& rng, const double* p) const {
    a.platform = rotate_local(Quat{}, 1, 0, 0, uniform(rng, -10.0, 10.0));
    a.platform = rotate_local(a.platform, 0, 0, 1, uniform(rng, -10.0, 10.0));
    a.px = uniform(rng, -1.5, 1.5);
    a.py = 4.0;
    a.pz = uniform(rng, -1.5, 1.5);
    a.vx = a.vy = a.vz = 0.0;
    a.mass = p[0];
    a.gravity = p[1];
    a.radius = 0.5 * p[2];
    std::fill(a.offsets, a.offsets + kStack * 3, 0.0f);
    std::fill(a.rotations, a.rotations + kStack * 2, 0.0f);
  }

  bool tick(Agent& a, const AgentAction& action, float& reward) const {
    const double action_z = 2.0 * clampf(action.continuous[0], -1.0f, 1.0f);
    const double action_x = 2.0 * clampf(action.continuous[1], -1.0f, 1.0f);
    if ((a.platform.z < 0.25 && action_z > 0.0) || (a.platform.z > -0.25 && action_z < 0.0)) {
      a.platform = rotate_local(a.platform, 0, 0, 1, action_z);
    }
    if ((a.platform.x < 0.25 && action_x > 0.0) || (a.platform.x > -0.25 && action_x < 0.0)) {
      a.platform = rotate_local(a.platform, 1, 0, 0, action_x);
    }
    if (a.py < -2.0 || std::abs(a.px) > 3.0 || std::abs(a.pz) > 3.0) {
      reward = -1.0f;
      return true;
    }
    reward = 0.1f;
    integrate_ball(a);
    return false;
  }

  // Not const on the agent: 3DBallHard pushes each decision's frame onto its stacks.
  void observe(Agent& a, float* const* obs) const {
    float* o = obs[0];
    if (hard_) {
      std::copy(a.offsets + 3, a.offsets + kStack * 3, a.offsets);
      std::copy(a.rotations + 2, a.rotations + kStack * 2, a.rotations);
      float* offset = a.offsets + (kStack - 1) * 3;
      float* rotation = a.rotations + (kStack - 1) * 2;
      offset[0] = static_cast<float>(a.px);
      offset[1] = static_cast<float>(a.py);
      offset[2] = static_cast<float>(a.pz);
      rotation[0] = static_cast<float>(a.platform.z);
      rotation[1] = static_cast<float>(a.platform.x);
      std::copy(a.offsets, a.offsets + kStack * 3, o);
      std::copy(a.rotations, a.rotations + kStack * 2, o + kStack * 3);
      return;
    }
    o[0] = static_cast<float>(a.platform.z);
    o[1] = static_cast<float>(a.platform.x);
    o[2] = static_cast<float>(a.px);
    o[3] = static_cast<float>(a.py);
    o[4] = static_cast<float>(a.pz);
    o[5] = static_cast<float>(a.vx);
    o[6] = static_cast<float>(a.vy);
    o[7] = static_cast<float>(a.vz);
  }

  void write_mask(const Agent&, std::uint8_t*) const {}

 private:
  // One physics step of the ball against the platform's top face.
  static void integrate_ball(Agent& a) {
    const Quat& q = a.platform;
    // Columns of the platform's rotation matrix: its local x, y (face normal) and z axes.
    const double nx = 2 * (q.x * q.y - q.w * q.z), ny = 1 - 2 * (q.x * q.x + q.z * q.z),
                 nz = 2 * (q.y * q.z + q.w * q.x);
    const double ux = 1 - 2 * (q.y * q.y + q.z * q.z), uy = 2 * (q.x * q.y + q.w * q.z),
                 uz = 2 * (q.x * q.z - q.w * q.y);
    const double wx = 2 * (q.x * q.z + q.w * q.y), wy = 2 * (q.y * q.z - q.w * q.x),
                 wz = 1 - 2 * (q.x * q.x + q.y * q.y);
    const double contact_height = kHalfExtent + a.radius;
    auto over_face = [&](double& height) {
      const double lx = a.px * ux + a.py * uy + a.pz * uz;
      const double lz = a.px * wx + a.py * wy + a.pz * wz;
      height = a.px * nx + a.py * ny + a.pz * nz;
      return std::abs(lx) <= kHalfExtent && std::abs(lz) <= kHalfExtent && height > 0.0;
    };
    double height = 0.0;
    const bool on_face = over_face(height) && height <= contact_height + 1e-3;
    if (on_face) {
      // Rolling: no motion into the face, and gravity's in-face part scaled by 5/7.
      const double vn = a.vx * nx + a.vy * ny + a.vz * nz;
      if (vn < 0.0) {
        a.vx -= vn * nx;
        a.vy -= vn * ny;
        a.vz -= vn * nz;
      }
      const double gn = -a.gravity * ny;  // (0, -g, 0) . n
      const double dt = kFixedDeltaTime * kRollFactor;
      a.vx += (0.0 - gn * nx) * dt;
      a.vy += (-a.gravity - gn * ny) * dt;
      a.vz += (0.0 - gn * nz) * dt;
    } else {
      a.vy -= a.gravity * kFixedDeltaTime;
    }
    a.px += a.vx * kFixedDeltaTime;
    a.py += a.vy * kFixedDeltaTime;
    a.pz += a.vz * kFixedDeltaTime;
    // Resolve penetration into the face (the platform may also have tilted into the ball).
    if (over_face(height) && height < contact_height) {
      const double push = contact_height - height;
      a.px += push * nx;
      a.py += push * ny;
      a.pz += push * nz;
      const double vn = a.vx * nx + a.vy * ny + a.vz * nz;
      if (vn < 0.0) {
        a.vx -= vn * nx;
        a.vy -= vn * ny;
        a.vz -= vn * nz;
      }
    }
  }

  bool hard_;
  EnvInfo info_;
};

}  // namespace mlaf::envs
