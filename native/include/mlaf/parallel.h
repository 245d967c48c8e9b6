// Splitting one kernel call over the machine's cores.
//
// The calling thread always does the work itself: it posts the call's chunks,
// wakes the helper threads and then takes chunks one by one from a shared
// counter. A helper that is awake in time takes chunks too; one that wakes
// late finds nothing left and goes back to waiting. So a call never waits for
// a helper to wake up, only for the chunks a helper has already started, and
// is never much slower than running on one thread (a helper that loses its core
// mid-chunk makes the caller wait; then the next calls run without helpers for
// a while, see parallel.cpp). Helpers spin briefly after
// each call before sleeping, so back-to-back calls find them awake.
//
// Which thread runs a chunk never changes what the chunk computes: kernels
// split into chunks whose results do not depend on one another, so results
// are bit-identical for every thread count.
#pragma once

#include <cstddef>

namespace mlaf {

// Threads a kernel call may use, the caller included (>= 1). The default is the
// number of cores this process may run on, at most kMaxKernelThreads.
constexpr int kMaxKernelThreads = 8;
int kernel_threads();
void set_kernel_threads(int threads);

// Runs run(context, c) once for every chunk c in [0, chunks), on the calling
// thread and on whichever helpers join in; returns when all have run. Chunks
// must write disjoint memory. With one kernel thread, one chunk, or another
// call already splitting its work, every chunk runs on the calling thread.
using ChunkFunction = void (*)(void* context, std::size_t chunk);
void run_chunks(std::size_t chunks, ChunkFunction run, void* context);

template <class Body>
void parallel_chunks(std::size_t chunks, Body& body) {
  run_chunks(
      chunks, [](void* context, std::size_t c) { (*static_cast<Body*>(context))(c); }, &body);
}

}  // namespace mlaf
