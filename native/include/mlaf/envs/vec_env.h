// num_envs copies of a native environment, stepped on a thread pool into arrays this
// object owns (the Python side sees them as numpy views, never copies).
//
// Slot layout is copy-major: copy e owns agent slots [e * agents_per_env, (e+1) * agents_per_env).
// Every slot asks for a decision on every step unless its environment marks it `absent`. Two ways
// to step:
//  - step(): validate all actions, then advance every copy (split across the threads);
//  - send(ids) / recv(n): EnvPool-style asynchronous stepping; the listed copies are
//    stepped by the workers and recv returns the first n that finished. A copy must not
//    have its actions rewritten while it is in flight.
// Environments whose agents are independent run as VecEnvOf<Env>; one whose agents are
// coupled (MultiAgentEnvironment's groups, multi_agent.h) subclasses VecEnv itself.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "mlaf/envs/env.h"
#include "mlaf/envs/sampler.h"

namespace mlaf::envs {

// Arrays of one behavior, owned here. Flags are bytes holding 0 or 1.
struct StepArrays {
  std::vector<std::vector<float>> obs;           // per observation: [slots, size]
  std::vector<std::vector<float>> terminal_obs;  // per observation: [slots, size]
  std::vector<float> reward;
  std::vector<std::uint8_t> terminated, truncated;
  std::vector<std::uint8_t> action_mask;  // [slots, mask_width], 1 = not allowed
  std::vector<float> episode_return;
  std::vector<std::int32_t> episode_length;
  std::vector<std::int32_t> group_id;  // 0 = no group; written by environments with groups
  std::vector<float> group_reward;
  // 1 where the agent asks for no decision this step (ML-Agents leaves it out of DecisionSteps):
  // MultiAgentEnvironment's early finishers waiting for their group; its action is ignored.
  std::vector<std::uint8_t> absent;
  std::vector<float> continuous;       // [slots, continuous_size], written by the caller
  std::vector<std::int32_t> discrete;  // [slots, branches], written by the caller
};

class VecEnv {
 public:
  VecEnv(const EnvInfo& info, int num_envs, int num_threads);
  virtual ~VecEnv();
  VecEnv(const VecEnv&) = delete;
  VecEnv& operator=(const VecEnv&) = delete;

  const EnvInfo& info() const { return info_; }
  int num_envs() const { return num_envs_; }
  int num_slots() const { return num_envs_ * info_.agents_per_env; }
  int num_threads() const { return num_threads_; }
  StepArrays& arrays() { return arrays_; }

  // Starts every slot's first episode. With a seed, first reseeds every copy (copy e from `seed`
  // and e) and the samplers; without one, the copies' and samplers' streams go on.
  void reset(std::optional<std::uint64_t> seed);
  // Throws std::invalid_argument naming the agent and field if an action is invalid.
  void step();
  void send(const std::int32_t* env_ids, int count);
  // Blocks until `count` copies sent earlier have finished; writes their ids in finishing order.
  void recv(std::int32_t* env_ids, int count);
  int in_flight() const;

  // Returns false if the environment reads no parameter of that name.
  bool set_sampler(const std::string& name, const SamplerSpec& spec);

 protected:
  virtual void reset_copy(int env) = 0;
  virtual void step_copy(int env) = 0;
  Rng& copy_rng(int env) { return rngs_[static_cast<std::size_t>(env)]; }
  // The values of the environment parameters for a new episode in copy `env`.
  void draw_parameters(int env, double* values);

  EnvInfo info_;
  StepArrays arrays_;

 private:
  void validate(int begin_env, int end_env) const;
  void start_workers();
  void worker_loop();
  bool has_work() const;  // with mutex_ held
  void run_parallel(int tasks, const std::function<void(int)>& body);

  int num_envs_;
  int num_threads_;
  std::uint64_t seed_ = 0;
  std::vector<Rng> rngs_;  // one per copy, for episode starts
  std::vector<std::vector<std::unique_ptr<Sampler>>>
      samplers_;  // [copy][parameter], null = default
  std::vector<SamplerSpec> sampler_specs_;
  std::vector<bool> has_sampler_;

  // The worker pool: a parallel-for job (sync step) and a queue of copies (async).
  std::vector<std::thread> workers_;
  mutable std::mutex mutex_;
  std::condition_variable work_ready_, work_done_;
  const std::function<void(int)>* job_ = nullptr;
  int job_tasks_ = 0, job_next_ = 0;
  std::atomic<int> job_finished_{0};
  // Bumped whenever work is posted, so briefly spinning threads see it without the mutex.
  std::atomic<std::uint64_t> posted_{0};
  std::deque<std::int32_t> pending_;
  std::deque<std::int32_t> finished_;
  std::vector<std::uint8_t> busy_;  // per copy: sent and not yet received
  int in_flight_ = 0;
  bool stopping_ = false;
};

// The VecEnv of one environment class: the per-agent driver of decisions, MaxStep and auto-reset.
template <class Env>
class VecEnvOf final : public VecEnv {
 public:
  VecEnvOf(Env env, int num_envs, int num_threads)
      : VecEnv(env.info(), num_envs, num_threads),
        env_(std::move(env)),
        agents_(static_cast<std::size_t>(num_slots())),
        physics_steps_(agents_.size(), 0),
        running_return_(agents_.size(), 0.0),
        running_length_(agents_.size(), 0) {}

 protected:
  void reset_copy(int env) override {
    const int per = info_.agents_per_env;
    for (int slot = env * per; slot < (env + 1) * per; ++slot) {
      begin_episode(env, slot);
      arrays_.reward[slot] = 0.0f;
      arrays_.terminated[slot] = arrays_.truncated[slot] = 0;
      arrays_.episode_return[slot] = 0.0f;
      arrays_.episode_length[slot] = 0;
      observe(slot, arrays_.obs, true);
    }
  }

  void step_copy(int env) override {
    const int per = info_.agents_per_env;
    const int continuous = info_.continuous_size;
    const int branches = static_cast<int>(info_.discrete_branches.size());
    for (int slot = env * per; slot < (env + 1) * per; ++slot) {
      typename Env::Agent& agent = agents_[slot];
      const AgentAction action{
          arrays_.continuous.data() + static_cast<std::size_t>(slot) * continuous,
          arrays_.discrete.data() + static_cast<std::size_t>(slot) * branches};
      float reward = 0.0f;
      bool terminated = false, truncated = false;
      for (int tick = 0; tick < info_.decision_period; ++tick) {
        terminated = env_.tick(agent, action, reward);
        ++physics_steps_[slot];
        if (terminated) break;
        if (info_.max_step > 0 && physics_steps_[slot] >= info_.max_step) {
          truncated = true;
          break;
        }
      }
      arrays_.reward[slot] = reward;
      arrays_.terminated[slot] = terminated;
      arrays_.truncated[slot] = truncated;
      running_return_[slot] += reward;
      running_length_[slot] += 1;
      if (terminated || truncated) {
        observe(slot, arrays_.terminal_obs, false);
        arrays_.episode_return[slot] = static_cast<float>(running_return_[slot]);
        arrays_.episode_length[slot] = running_length_[slot];
        begin_episode(env, slot);
      }
      observe(slot, arrays_.obs, true);
    }
  }

 private:
  void begin_episode(int env, int slot) {
    double parameters[kMaxParameters];
    draw_parameters(env, parameters);
    env_.begin_episode(agents_[slot], copy_rng(env), parameters);
    physics_steps_[slot] = 0;
    running_return_[slot] = 0.0;
    running_length_[slot] = 0;
  }

  void observe(int slot, std::vector<std::vector<float>>& target, bool with_mask) {
    float* rows[kMaxObservations];
    for (std::size_t k = 0; k < target.size(); ++k) {
      rows[k] = target[k].data() + static_cast<std::size_t>(slot) * info_.observations[k].size();
    }
    env_.observe(agents_[slot], rows);
    if (with_mask && !arrays_.action_mask.empty()) {
      env_.write_mask(agents_[slot], arrays_.action_mask.data() +
                                         static_cast<std::size_t>(slot) * info_.mask_width());
    }
  }

  Env env_;
  std::vector<typename Env::Agent> agents_;
  std::vector<int> physics_steps_;
  // Summed in double, as ML-Agents' AgentProcessor sums an episode's rewards in Python floats
  // (1000 rewards of 0.1f make 100.000, not float32's 99.999).
  std::vector<double> running_return_;
  std::vector<std::int32_t> running_length_;
};

// The built-in environments by name; throws std::invalid_argument for an unknown name or option.
std::unique_ptr<VecEnv> make_vec_env(const std::string& name, const Options& options, int num_envs,
                                     int num_threads);
std::vector<std::string> native_env_names();

}  // namespace mlaf::envs
