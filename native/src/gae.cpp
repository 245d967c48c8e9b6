#include "mlaf/gae.h"

#include <algorithm>

#include "mlaf/parallel.h"
#include "mlaf/simd.h"

namespace mlaf {
namespace {

// One row (time step t) of one reward signal. The loop runs over agents,
// which are contiguous, so it vectorizes. Selects (not multiplications by
// 0/1) cut episodes, so a NaN or inf never leaks across an episode boundary.
// `carry` is the next row's advantages, or nullptr for the rollout's last step.
template <bool kHasTruncatedValues, bool kHasCarry>
MLAF_ALWAYS_INLINE void gae_row(std::size_t agents, const float* __restrict rewards,
                                const float* __restrict values, const float* __restrict next_values,
                                const float* __restrict carry,
                                const float* __restrict truncated_values,
                                const std::uint8_t* __restrict terminated,
                                const std::uint8_t* __restrict truncated, float gamma,
                                float gamma_lambda, float* __restrict advantages,
                                float* __restrict returns) {
  for (std::size_t n = 0; n < agents; ++n) {
    // Flags widened to float keep every lane the same width, which lets the
    // compiler use one compare-and-blend per select.
    const float term = static_cast<float>(terminated[n]);
    const float trunc = static_cast<float>(truncated[n]);
    // Loads are unconditional (every array is full size) so that the selects
    // below need no masked loads and vectorize on any SIMD level.
    float next_value = next_values[n];
    if (kHasTruncatedValues) {
      const float final_value = truncated_values[n];
      next_value = trunc != 0.0f ? final_value : next_value;
    }
    next_value = term != 0.0f ? 0.0f : next_value;
    const float delta = rewards[n] + gamma * next_value - values[n];
    float advantage = delta;
    if (kHasCarry) {
      const float continued = delta + gamma_lambda * carry[n];
      // Flags are >= 0, so their sum is 0 exactly when the episode goes on.
      advantage = term + trunc != 0.0f ? delta : continued;
    }
    advantages[n] = advantage;
    returns[n] = advantage + values[n];
  }
}

// `width` agents of rows `stride` agents apart: the pointers point at the
// first of those agents in step 0.
template <bool kHasTruncatedValues>
MLAF_ALWAYS_INLINE void gae_signal(std::size_t steps, std::size_t stride, std::size_t width,
                                   const float* rewards, const float* values,
                                   const float* bootstrap, const float* truncated_values,
                                   const std::uint8_t* terminated, const std::uint8_t* truncated,
                                   float gamma, float lambd, float* advantages, float* returns) {
  if (steps == 0) return;
  const float gamma_lambda = gamma * lambd;
  for (std::size_t t = steps; t-- > 0;) {
    const std::size_t i = t * stride;
    const float* tv = kHasTruncatedValues ? truncated_values + i : nullptr;
    if (t + 1 == steps) {
      gae_row<kHasTruncatedValues, false>(width, rewards + i, values + i, bootstrap, nullptr, tv,
                                          terminated + i, truncated + i, gamma, gamma_lambda,
                                          advantages + i, returns + i);
    } else {
      gae_row<kHasTruncatedValues, true>(width, rewards + i, values + i, values + i + stride,
                                         advantages + i + stride, tv, terminated + i, truncated + i,
                                         gamma, gamma_lambda, advantages + i, returns + i);
    }
  }
}

template <bool kHasTruncatedValues>
MLAF_ALWAYS_INLINE void returns_signal(std::size_t steps, std::size_t agents, const float* rewards,
                                       const float* bootstrap, const float* truncated_values,
                                       const std::uint8_t* terminated,
                                       const std::uint8_t* truncated, float gamma, float* returns) {
  for (std::size_t t = steps; t-- > 0;) {
    const std::size_t row = t * agents;
    const float* next_returns = t + 1 == steps ? bootstrap : returns + row + agents;
    for (std::size_t n = 0; n < agents; ++n) {
      const std::size_t i = row + n;
      // Same select scheme as gae_row: float flags, unconditional loads.
      float next_value = next_returns[n];
      if (kHasTruncatedValues) {
        const float final_value = truncated_values[i];
        next_value = static_cast<float>(truncated[i]) != 0.0f ? final_value : next_value;
      }
      next_value = static_cast<float>(terminated[i]) != 0.0f ? 0.0f : next_value;
      returns[i] = rewards[i] + gamma * next_value;
    }
  }
}

// Calls of at least this many elements (S * T * N) are split over the kernel
// threads, by agents: each chunk is a block of columns over every step and
// signal, and every element is computed exactly as on one thread. Below it a
// call costs less than waking a helper. Chunks are at least kMinChunkAgents
// wide (narrower strided blocks lose more to the prefetchers than a second
// core gains) and start on a 64-byte boundary.
constexpr std::size_t kMinSplitElements = std::size_t{1} << 16;
constexpr std::size_t kMinChunkAgents = 256;
constexpr std::size_t kChunkAlign = 16;

struct GaeCall {
  const RolloutShape* shape;
  const RolloutInputs* in;
  const float* gammas;
  float lambd;
  float* advantages;
  float* returns;
  std::size_t chunk_agents;
};

}  // namespace

// Agents [begin, end) of every signal.
MLAF_SIMD_CLONES void gae_agents(const RolloutShape& shape, const RolloutInputs& in,
                                 const float* gammas, float lambd, float* advantages,
                                 float* returns, std::size_t begin, std::size_t end) {
  const std::size_t plane = shape.steps * shape.agents;
  const std::size_t width = end - begin;
  for (std::size_t s = 0; s < shape.signals; ++s) {
    const std::size_t o = s * plane + begin;
    const float* boot = in.bootstrap + s * shape.agents + begin;
    const std::uint8_t* term = in.terminated + begin;
    const std::uint8_t* trunc = in.truncated + begin;
    if (in.truncated_values != nullptr) {
      gae_signal<true>(shape.steps, shape.agents, width, in.rewards + o, in.values + o, boot,
                       in.truncated_values + o, term, trunc, gammas[s], lambd, advantages + o,
                       returns + o);
    } else {
      gae_signal<false>(shape.steps, shape.agents, width, in.rewards + o, in.values + o, boot,
                        nullptr, term, trunc, gammas[s], lambd, advantages + o, returns + o);
    }
  }
}

std::size_t gae_chunks(const RolloutShape& shape, int threads) {
  if (threads <= 1 || shape.signals * shape.steps * shape.agents < kMinSplitElements) return 1;
  return std::max<std::size_t>(
      1, std::min(static_cast<std::size_t>(threads), shape.agents / kMinChunkAgents));
}

void gae(const RolloutShape& shape, const RolloutInputs& in, const float* gammas, float lambd,
         float* advantages, float* returns) {
  const std::size_t chunks = gae_chunks(shape, kernel_threads());
  if (chunks <= 1) {
    gae_agents(shape, in, gammas, lambd, advantages, returns, 0, shape.agents);
    return;
  }
  // Equal blocks, rounded up to whole cache lines of float32; the last takes the rest.
  const std::size_t per = (shape.agents / chunks + kChunkAlign - 1) / kChunkAlign * kChunkAlign;
  GaeCall call{&shape, &in, gammas, lambd, advantages, returns, per};
  auto body = [&call](std::size_t c) {
    const std::size_t agents = call.shape->agents;
    const std::size_t begin = std::min(agents, c * call.chunk_agents);
    const std::size_t end = std::min(agents, begin + call.chunk_agents);
    if (begin < end) {
      gae_agents(*call.shape, *call.in, call.gammas, call.lambd, call.advantages, call.returns,
                 begin, end);
    }
  };
  parallel_chunks(chunks, body);
}

MLAF_SIMD_CLONES void discounted_returns(const RolloutShape& shape, const RolloutInputs& in,
                                         const float* gammas, float* returns) {
  const std::size_t plane = shape.steps * shape.agents;
  for (std::size_t s = 0; s < shape.signals; ++s) {
    const std::size_t o = s * plane;
    const float* boot = in.bootstrap + s * shape.agents;
    if (in.truncated_values != nullptr) {
      returns_signal<true>(shape.steps, shape.agents, in.rewards + o, boot, in.truncated_values + o,
                           in.terminated, in.truncated, gammas[s], returns + o);
    } else {
      returns_signal<false>(shape.steps, shape.agents, in.rewards + o, boot, nullptr, in.terminated,
                            in.truncated, gammas[s], returns + o);
    }
  }
}

MLAF_SIMD_CLONES bool any_flag_set(const std::uint8_t* flags, std::size_t count) {
  std::uint8_t any = 0;
  for (std::size_t i = 0; i < count; ++i) any |= flags[i];
  return any != 0;
}

void gae_trajectory(const float* rewards, const float* values, std::size_t steps, float value_next,
                    float gamma, float lambd, float* advantages) {
  float running = 0.0f;
  float next_value = value_next;
  for (std::size_t t = steps; t-- > 0;) {
    const float delta = rewards[t] + gamma * next_value - values[t];
    running = delta + gamma * lambd * running;
    advantages[t] = running;
    next_value = values[t];
  }
}

void discount_rewards(const float* rewards, std::size_t steps, float gamma, float value_next,
                      float* returns) {
  float running = value_next;
  for (std::size_t t = steps; t-- > 0;) {
    running = running * gamma + rewards[t];
    returns[t] = running;
  }
}

std::size_t count_trajectories(const std::uint8_t* closes, std::size_t steps) {
  if (steps == 0) return 0;
  std::size_t count = 1;  // the last step closes one
  for (std::size_t i = 0; i + 1 < steps; ++i) count += closes[i] != 0;
  return count;
}

void trajectory_means(const float* values, std::size_t signals, std::size_t steps,
                      const std::uint8_t* closes, std::size_t trajectories, double* means) {
  for (std::size_t s = 0; s < signals; ++s) {
    const float* row = values + s * steps;
    double* out = means + s * trajectories;
    double sum = 0.0;
    std::size_t length = 0, k = 0;
    for (std::size_t i = 0; i < steps; ++i) {
      sum += row[i];
      ++length;
      if (closes[i] != 0 || i + 1 == steps) {
        out[k++] = sum / static_cast<double>(length);
        sum = 0.0;
        length = 0;
      }
    }
  }
}

}  // namespace mlaf
