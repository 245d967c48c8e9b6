#include "mlaf/envs/vec_env.h"

#include <chrono>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace mlaf::envs {

namespace {

// splitmix64 step: decorrelates the seeds of neighbouring copies and parameters.
std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
  std::uint64_t z = a + 0x9E3779B97F4A7C15ULL * (b + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// How long a thread spins before sleeping on the condition variable. A futex wake-up
// costs several microseconds, as much as stepping hundreds of cheap copies; in a tight
// stepping loop the next step comes sooner than this, and during a long network update
// the threads go to sleep instead of taking a core from it.
constexpr auto kSpinFor = std::chrono::microseconds(50);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Spins until `done()` or kSpinFor has passed; returns done().
template <class Predicate>
bool spin_until(Predicate done) {
  const auto deadline = std::chrono::steady_clock::now() + kSpinFor;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() > deadline) return done();
  }
}

}  // namespace

VecEnv::VecEnv(const EnvInfo& info, int num_envs, int num_threads)
    : info_(info), num_envs_(num_envs), num_threads_(num_threads) {
  if (num_envs < 1)
    throw std::invalid_argument("num_envs must be at least 1; got " + std::to_string(num_envs) +
                                ".");
  if (num_threads < 1) {
    throw std::invalid_argument("num_threads must be at least 1; got " +
                                std::to_string(num_threads) + ".");
  }
  if (info.observations.size() > static_cast<std::size_t>(kMaxObservations) ||
      info.parameter_names.size() > static_cast<std::size_t>(kMaxParameters)) {
    throw std::logic_error(info.behavior +
                           " declares more observations or parameters than a VecEnv holds.");
  }
  const std::size_t slots = static_cast<std::size_t>(num_slots());
  for (const ObservationInfo& o : info.observations) {
    arrays_.obs.emplace_back(slots * static_cast<std::size_t>(o.size()), 0.0f);
    arrays_.terminal_obs.emplace_back(slots * static_cast<std::size_t>(o.size()), 0.0f);
  }
  arrays_.reward.assign(slots, 0.0f);
  arrays_.terminated.assign(slots, 0);
  arrays_.truncated.assign(slots, 0);
  arrays_.action_mask.assign(slots * static_cast<std::size_t>(info.mask_width()), 0);
  arrays_.episode_return.assign(slots, 0.0f);
  arrays_.episode_length.assign(slots, 0);
  arrays_.group_id.assign(slots, 0);
  arrays_.group_reward.assign(slots, 0.0f);
  arrays_.absent.assign(slots, 0);
  arrays_.continuous.assign(slots * static_cast<std::size_t>(info.continuous_size), 0.0f);
  arrays_.discrete.assign(slots * info.discrete_branches.size(), 0);
  rngs_.assign(static_cast<std::size_t>(num_envs), Rng(0));
  samplers_.resize(static_cast<std::size_t>(num_envs));
  for (auto& per_copy : samplers_) per_copy.resize(info.parameter_names.size());
  sampler_specs_.resize(info.parameter_names.size());
  has_sampler_.assign(info.parameter_names.size(), false);
  busy_.assign(static_cast<std::size_t>(num_envs), 0);
}

VecEnv::~VecEnv() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    posted_.fetch_add(1);
  }
  work_ready_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void VecEnv::reset(std::optional<std::uint64_t> seed) {
  if (in_flight() > 0)
    throw std::logic_error("reset() while copies are in flight; recv() them first.");
  if (seed) {
    seed_ = *seed;
    for (int e = 0; e < num_envs_; ++e) {
      rngs_[static_cast<std::size_t>(e)].reseed(mix(seed_, static_cast<std::uint64_t>(e)));
    }
    for (std::size_t p = 0; p < has_sampler_.size(); ++p) {
      if (has_sampler_[p]) set_sampler(info_.parameter_names[p], sampler_specs_[p]);
    }
  }
  for (int e = 0; e < num_envs_; ++e) reset_copy(e);
}

bool VecEnv::set_sampler(const std::string& name, const SamplerSpec& spec) {
  std::size_t p = 0;
  while (p < info_.parameter_names.size() && info_.parameter_names[p] != name) ++p;
  if (p == info_.parameter_names.size()) return false;
  // A sampler seeded by the user repeats across runs; -1 follows the environment's seed.
  const std::uint64_t base = spec.seed >= 0 ? static_cast<std::uint64_t>(spec.seed) : seed_;
  for (int e = 0; e < num_envs_; ++e) {
    samplers_[static_cast<std::size_t>(e)][p] =
        std::make_unique<Sampler>(spec, mix(mix(base, p), static_cast<std::uint64_t>(e)));
  }
  sampler_specs_[p] = spec;
  has_sampler_[p] = true;
  return true;
}

void VecEnv::draw_parameters(int env, double* values) {
  auto& per_copy = samplers_[static_cast<std::size_t>(env)];
  for (std::size_t p = 0; p < per_copy.size(); ++p) {
    values[p] = per_copy[p] ? per_copy[p]->draw() : info_.parameter_defaults[p];
  }
}

void VecEnv::validate(int begin_env, int end_env) const {
  const int per = info_.agents_per_env;
  const int continuous = info_.continuous_size;
  const int branches = static_cast<int>(info_.discrete_branches.size());
  const int mask_width = info_.mask_width();
  for (int slot = begin_env * per; slot < end_env * per; ++slot) {
    const float* c = arrays_.continuous.data() + static_cast<std::size_t>(slot) * continuous;
    for (int i = 0; i < continuous; ++i) {
      if (!std::isfinite(c[i])) {
        std::ostringstream msg;
        msg << "continuous action " << i << " of agent " << slot << " is " << c[i]
            << "; actions must be finite";
        throw std::invalid_argument(msg.str());
      }
    }
    const std::int32_t* d = arrays_.discrete.data() + static_cast<std::size_t>(slot) * branches;
    const std::uint8_t* mask =
        arrays_.action_mask.data() + static_cast<std::size_t>(slot) * mask_width;
    int offset = 0;
    for (int b = 0; b < branches; ++b) {
      const int size = info_.discrete_branches[static_cast<std::size_t>(b)];
      if (d[b] < 0 || d[b] >= size) {
        std::ostringstream msg;
        msg << "discrete action of agent " << slot << " on branch " << b << " is " << d[b]
            << "; the branch has " << size << " choices (0 to " << size - 1 << ")";
        throw std::invalid_argument(msg.str());
      }
      if (mask[offset + d[b]]) {
        std::ostringstream msg;
        msg << "discrete action of agent " << slot << " on branch " << b << " is " << d[b]
            << ", which its action mask forbids";
        throw std::invalid_argument(msg.str());
      }
      offset += size;
    }
  }
}

void VecEnv::step() {
  if (in_flight() > 0)
    throw std::logic_error("step() while copies are in flight; recv() them first.");
  validate(0, num_envs_);
  const int tasks = std::min(num_threads_, num_envs_);
  if (tasks == 1) {
    for (int e = 0; e < num_envs_; ++e) step_copy(e);
    return;
  }
  const std::function<void(int)> body = [this, tasks](int t) {
    const int begin = static_cast<int>(static_cast<long long>(num_envs_) * t / tasks);
    const int end = static_cast<int>(static_cast<long long>(num_envs_) * (t + 1) / tasks);
    for (int e = begin; e < end; ++e) step_copy(e);
  };
  run_parallel(tasks, body);
}

void VecEnv::start_workers() {
  // Lazily, so single-threaded use never starts a thread. The caller takes part in
  // parallel-for jobs, but async stepping needs every thread in the background.
  if (!workers_.empty()) return;
  for (int i = 0; i < num_threads_; ++i) workers_.emplace_back([this] { worker_loop(); });
}

bool VecEnv::has_work() const {
  return stopping_ || !pending_.empty() || (job_ && job_next_ < job_tasks_);
}

void VecEnv::run_parallel(int tasks, const std::function<void(int)>& body) {
  start_workers();
  std::unique_lock<std::mutex> lock(mutex_);
  job_ = &body;
  job_tasks_ = tasks;
  job_next_ = 1;  // the caller runs task 0
  job_finished_.store(0);
  posted_.fetch_add(1, std::memory_order_release);
  lock.unlock();
  work_ready_.notify_all();
  body(0);
  lock.lock();
  job_finished_.fetch_add(1);
  // Help with the rest rather than wait.
  while (job_next_ < job_tasks_) {
    const int t = job_next_++;
    lock.unlock();
    body(t);
    lock.lock();
    job_finished_.fetch_add(1);
  }
  lock.unlock();
  if (!spin_until([&] { return job_finished_.load(std::memory_order_acquire) == tasks; })) {
    lock.lock();
    work_done_.wait(lock, [&] { return job_finished_.load() == tasks; });
    lock.unlock();
  }
  lock.lock();
  job_ = nullptr;
}

void VecEnv::worker_loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    if (!has_work()) {
      const std::uint64_t seen = posted_.load(std::memory_order_acquire);
      lock.unlock();
      spin_until([&] { return posted_.load(std::memory_order_acquire) != seen; });
      lock.lock();
      work_ready_.wait(lock, [this] { return has_work(); });
    }
    if (stopping_) return;
    if (job_ && job_next_ < job_tasks_) {
      const int t = job_next_++;
      const std::function<void(int)>* job = job_;
      lock.unlock();
      (*job)(t);
      lock.lock();
      if (job_finished_.fetch_add(1) + 1 == job_tasks_) work_done_.notify_all();
      continue;
    }
    const std::int32_t env = pending_.front();
    pending_.pop_front();
    lock.unlock();
    step_copy(env);
    lock.lock();
    finished_.push_back(env);
    work_done_.notify_all();
  }
}

void VecEnv::send(const std::int32_t* env_ids, int count) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int i = 0; i < count; ++i) {
      const std::int32_t e = env_ids[i];
      if (e < 0 || e >= num_envs_) {
        throw std::out_of_range("env id " + std::to_string(e) + " is outside 0.." +
                                std::to_string(num_envs_ - 1));
      }
      if (busy_[static_cast<std::size_t>(e)]) {
        throw std::logic_error("env id " + std::to_string(e) +
                               " was sent again before it was received");
      }
    }
  }
  for (int i = 0; i < count; ++i) validate(env_ids[i], env_ids[i] + 1);
  start_workers();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int i = 0; i < count; ++i) {
      busy_[static_cast<std::size_t>(env_ids[i])] = 1;
      pending_.push_back(env_ids[i]);
    }
    in_flight_ += count;
    posted_.fetch_add(1, std::memory_order_release);
  }
  work_ready_.notify_all();
}

void VecEnv::recv(std::int32_t* env_ids, int count) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (count > in_flight_) {
    throw std::logic_error("recv(" + std::to_string(count) + ") but only " +
                           std::to_string(in_flight_) + " copies are in flight");
  }
  work_done_.wait(lock, [this, count] { return static_cast<int>(finished_.size()) >= count; });
  for (int i = 0; i < count; ++i) {
    env_ids[i] = finished_.front();
    finished_.pop_front();
    busy_[static_cast<std::size_t>(env_ids[i])] = 0;
  }
  in_flight_ -= count;
}

int VecEnv::in_flight() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return in_flight_;
}

}  // namespace mlaf::envs
