#include "mlaf/parallel.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace mlaf {
namespace {

// How long a helper spins after a call before sleeping. Back-to-back calls (a
// loop over minibatches) find it awake; during a network update it sleeps
// instead of taking a core. Same trade-off as the environment stepper's.
constexpr auto kSpinFor = std::chrono::microseconds(50);

// A caller that waits longer than this for a helper's chunk runs its next calls
// alone: 1, 2, 4 ... up to kMaxBackoff calls as it keeps happening.
constexpr auto kLateHelper = std::chrono::microseconds(50);
constexpr std::uint32_t kMaxBackoff = 1024;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

int default_threads() {
  int cores = 0;
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) cores = CPU_COUNT(&set);
#endif
  if (cores <= 0) cores = static_cast<int>(std::thread::hardware_concurrency());
  return std::clamp(cores, 1, kMaxKernelThreads);
}

// Never destroyed: helpers wait on it until the process exits (a call never
// returns while a helper runs one of its chunks, so none is cut off mid-work).
class Pool {
 public:
  explicit Pool(int threads) : threads_(threads) {}

  int threads() const { return threads_.load(std::memory_order_relaxed); }

  void set_threads(int threads) { threads_.store(std::clamp(threads, 1, kMaxKernelThreads)); }

  void run(std::size_t chunks, ChunkFunction fn, void* context) {
    const int threads = this->threads();
    // One split call at a time; a concurrent call just runs on its own thread.
    std::unique_lock<std::mutex> caller(caller_mutex_, std::try_to_lock);
    if (threads <= 1 || chunks <= 1 || !caller.owns_lock() || skip_ > 0) {
      if (caller.owns_lock() && skip_ > 0) --skip_;
      for (std::size_t c = 0; c < chunks; ++c) fn(context, c);
      return;
    }
    if (helpers_ < threads - 1) start_helpers(threads - 1);
    fn_ = fn;
    context_ = context;
    chunks_ = chunks;
    next_.store(0, std::memory_order_relaxed);
    // state_ = 2 * generation + 1 while the call is open to helpers.
    const std::uint64_t open = state_.load(std::memory_order_relaxed) + 1;
    state_.store(open);  // seq_cst: ordered against sleeping_ below
    if (sleeping_.load() > 0) {
      std::lock_guard<std::mutex> lock(mutex_);
      wake_.notify_all();
    }
    for (std::size_t c; (c = next_.fetch_add(1, std::memory_order_relaxed)) < chunks;)
      fn(context, c);
    state_.store(open + 1);  // closed: a helper that registers from here on backs off
    // Only chunks a helper already started are left: wait for them.
    if (active_.load() > 0) {
      const auto start = std::chrono::steady_clock::now();
      while (active_.load() > 0) cpu_relax();
      // A long wait means a helper lost its core mid-chunk (another process wants
      // it): run the next calls on this thread alone, more of them each time it
      // happens again, so a busy machine is not made to wait on descheduled helpers.
      if (std::chrono::steady_clock::now() - start > kLateHelper) {
        backoff_ = std::min<std::uint32_t>(kMaxBackoff, std::max<std::uint32_t>(1, 2 * backoff_));
        skip_ = backoff_;
        return;
      }
    }
    backoff_ /= 2;
  }

 private:
  // Helpers are started on the first split call (by the caller holding caller_mutex_).
  void start_helpers(int wanted) {
    for (; helpers_ < wanted; ++helpers_) std::thread([this] { helper_loop(); }).detach();
  }

  void helper_loop() {
    std::uint64_t seen = state_.load();
    for (;;) {
      // Spin a little for the next call, then sleep until one is posted.
      const auto deadline = std::chrono::steady_clock::now() + kSpinFor;
      std::uint64_t state = seen;
      while (state == seen) {
        for (int i = 0; i < 64 && state == seen; ++i) {
          cpu_relax();
          state = state_.load(std::memory_order_relaxed);
        }
        if (state != seen || std::chrono::steady_clock::now() > deadline) break;
        // Give the core up to any other thread that wants it (the caller itself,
        // when the machine is busy and both share one core).
        std::this_thread::yield();
        state = state_.load(std::memory_order_relaxed);
      }
      if (state == seen) {
        std::unique_lock<std::mutex> lock(mutex_);
        sleeping_.fetch_add(1);  // seq_cst: ordered against the caller's state_ store
        wake_.wait(lock, [&] { return (state = state_.load()) != seen; });
        sleeping_.fetch_sub(1);
      }
      seen = state;
      if ((state & 1) == 0) continue;  // that call has closed already
      // Register, then check the call is still the open one: either the caller's
      // closing store comes after our registration (it then waits for us), or we
      // see it closed and back off.
      active_.fetch_add(1);
      if (state_.load() == state) {
        const ChunkFunction fn = fn_;
        void* const context = context_;
        const std::size_t chunks = chunks_;
        for (std::size_t c; (c = next_.fetch_add(1, std::memory_order_relaxed)) < chunks;) {
          fn(context, c);
        }
      }
      active_.fetch_sub(1, std::memory_order_release);
    }
  }

  std::atomic<int> threads_;
  std::mutex caller_mutex_;
  int helpers_ = 0;  // these three: guarded by caller_mutex_
  std::uint32_t backoff_ = 0;
  std::uint32_t skip_ = 0;
  // The open call: written by the caller before it opens state_, read by helpers
  // after they see it open (the caller changes them only when no helper is active).
  ChunkFunction fn_ = nullptr;
  void* context_ = nullptr;
  std::size_t chunks_ = 0;
  alignas(64) std::atomic<std::uint64_t> state_{0};
  alignas(64) std::atomic<std::size_t> next_{0};
  alignas(64) std::atomic<int> active_{0};
  std::atomic<int> sleeping_{0};
  std::mutex mutex_;  // for sleeping helpers
  std::condition_variable wake_;
};

Pool* make_pool(int threads);

// Created when the library loads. A child process forked from a process with
// helpers has none of them (only the forking thread survives a fork), and its
// copy of the pool's locks may be held by one: it starts over with a new pool.
Pool* g_pool = make_pool(default_threads());

Pool* make_pool(int threads) {
  static const bool registered = [] {
    pthread_atfork(nullptr, nullptr, [] { g_pool = new Pool(g_pool->threads()); });
    return true;
  }();
  (void)registered;
  return new Pool(threads);
}

Pool& pool() { return *g_pool; }

}  // namespace

int kernel_threads() { return pool().threads(); }

void set_kernel_threads(int threads) { pool().set_threads(threads); }

void run_chunks(std::size_t chunks, ChunkFunction run, void* context) {
  pool().run(chunks, run, context);
}

}  // namespace mlaf
