// Environment parameter samplers, drawn each time an episode begins (Unity's
// EnvironmentParameters.GetWithDefault draws anew from a sampler on every read).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "mlaf/rng.h"

namespace mlaf::envs {

enum class SamplerKind : int { kConstant = 0, kUniform = 1, kGaussian = 2, kMultiRangeUniform = 3 };

struct SamplerSpec {
  SamplerKind kind = SamplerKind::kConstant;
  // constant: {(value, value)}; uniform: {(min, max)}; gaussian: {(mean, st_dev)};
  // multirangeuniform: the (min, max) intervals, chosen with odds by their length.
  std::vector<std::pair<double, double>> intervals;
  std::int64_t seed = -1;  // -1: derived from the environment's reset seed
};

class Sampler {
 public:
  Sampler(SamplerSpec spec, std::uint64_t seed) : spec_(std::move(spec)), rng_(seed) {}
  double draw();

 private:
  SamplerSpec spec_;
  Rng rng_;
};

}  // namespace mlaf::envs
