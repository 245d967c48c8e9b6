// Environment helpers, samplers and the registry of built-in native environments.
#include <cmath>
#include <stdexcept>

#include "mlaf/envs/ball3d.h"
#include "mlaf/envs/basic.h"
#include "mlaf/envs/cartpole.h"
#include "mlaf/envs/gridworld.h"
#include "mlaf/envs/hallway.h"
#include "mlaf/envs/multi_agent.h"
#include "mlaf/envs/pushblock.h"
#include "mlaf/envs/pushblock_collab.h"
#include "mlaf/envs/pyramids.h"
#include "mlaf/envs/simple.h"
#include "mlaf/envs/soccer.h"
#include "mlaf/envs/sorter.h"
#include "mlaf/envs/tennis.h"
#include "mlaf/envs/vec_env.h"
#include "mlaf/envs/walljump.h"

namespace mlaf::envs {

void check_options(const std::string& env, const Options& options,
                   const std::vector<std::string>& known) {
  for (const auto& [key, value] : options) {
    bool found = false;
    for (const std::string& k : known) found = found || k == key;
    if (!found) {
      std::string list;
      for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
      throw std::invalid_argument(env + " has no option '" + key + "'; its options are: " +
                                  (list.empty() ? std::string("(none)") : list) + ".");
    }
  }
}

double option_or(const Options& options, const std::string& key, double fallback) {
  const auto it = options.find(key);
  return it == options.end() ? fallback : it->second;
}

double Sampler::draw() {
  switch (spec_.kind) {
    case SamplerKind::kConstant:
      return spec_.intervals[0].first;
    case SamplerKind::kGaussian: {
      // Box-Muller; 1 - u keeps the logarithm finite.
      const double u1 = 1.0 - uniform01(rng_), u2 = uniform01(rng_);
      const double normal = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
      return spec_.intervals[0].first + spec_.intervals[0].second * normal;
    }
    case SamplerKind::kUniform:
    case SamplerKind::kMultiRangeUniform: {
      double total = 0.0;
      for (const auto& [low, high] : spec_.intervals) total += high - low;
      if (total <= 0.0) return spec_.intervals[0].first;
      double pick = uniform01(rng_) * total;
      for (const auto& [low, high] : spec_.intervals) {
        if (pick < high - low) return low + pick;
        pick -= high - low;
      }
      return spec_.intervals.back().second;
    }
  }
  return 0.0;
}

std::vector<std::string> native_env_names() {
  return {"3DBall",
          "3DBallHard",
          "Basic",
          "CartPole",
          "GridWorld",
          "Hallway",
          "MemoryEnvironment",
          "MultiAgentEnvironment",
          "PushBlock",
          "PushBlockCollab",
          "Pyramids",
          "SimpleEnvironment",
          "SoccerTwos",
          "Sorter",
          "Tennis",
          "WallJump"};
}

std::unique_ptr<VecEnv> make_vec_env(const std::string& name, const Options& options, int num_envs,
                                     int num_threads) {
  if (name == "Basic")
    return std::make_unique<VecEnvOf<Basic>>(Basic(options), num_envs, num_threads);
  if (name == "CartPole")
    return std::make_unique<VecEnvOf<CartPole>>(CartPole(options), num_envs, num_threads);
  if (name == "3DBall") {
    return std::make_unique<VecEnvOf<Ball3D>>(Ball3D(options, false), num_envs, num_threads);
  }
  if (name == "3DBallHard") {
    return std::make_unique<VecEnvOf<Ball3D>>(Ball3D(options, true), num_envs, num_threads);
  }
  if (name == "GridWorld")
    return std::make_unique<VecEnvOf<GridWorld>>(GridWorld(options), num_envs, num_threads);
  if (name == "Hallway")
    return std::make_unique<VecEnvOf<Hallway>>(Hallway(options), num_envs, num_threads);
  if (name == "PushBlock")
    return std::make_unique<VecEnvOf<PushBlock>>(PushBlock(options), num_envs, num_threads);
  if (name == "PushBlockCollab") {
    return std::make_unique<PushBlockCollabVecEnv>(PushBlockCollab(options), num_envs, num_threads);
  }
  if (name == "Pyramids")
    return std::make_unique<VecEnvOf<Pyramids>>(Pyramids(options), num_envs, num_threads);
  if (name == "Sorter")
    return std::make_unique<VecEnvOf<Sorter>>(Sorter(options), num_envs, num_threads);
  if (name == "Tennis")
    return std::make_unique<TennisVecEnv>(Tennis(options), num_envs, num_threads);
  if (name == "SoccerTwos")
    return std::make_unique<SoccerVecEnv>(Soccer(options), num_envs, num_threads);
  if (name == "WallJump")
    return std::make_unique<VecEnvOf<WallJump>>(WallJump(options), num_envs, num_threads);
  if (name == "SimpleEnvironment") {
    return std::make_unique<VecEnvOf<Simple>>(Simple(options, Simple::Variant::kSimple), num_envs,
                                              num_threads);
  }
  if (name == "MemoryEnvironment") {
    return std::make_unique<VecEnvOf<Simple>>(Simple(options, Simple::Variant::kMemory), num_envs,
                                              num_threads);
  }
  if (name == "MultiAgentEnvironment") {
    return std::make_unique<MultiAgentVecEnv>(Simple(options, Simple::Variant::kMultiAgent),
                                              num_envs, num_threads);
  }
  std::string list;
  for (const std::string& n : native_env_names()) list += (list.empty() ? "" : ", ") + n;
  throw std::invalid_argument("There is no native environment '" + name +
                              "'; the built-in ones are: " + list + ".");
}

}  // namespace mlaf::envs
