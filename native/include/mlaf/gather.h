// Row gather for struct-of-arrays buffers, and the index generators that feed
// it: shuffled minibatches, sequence-aligned minibatches and uniform replay
// samples. Storage is borrowed: callers own every array.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mlaf/rng.h"

namespace mlaf {

// One field of a buffer: `src` holds `num_rows` rows of `row_bytes` bytes each,
// `dst` receives one row per index.
struct RowField {
  const std::uint8_t* src;
  std::uint8_t* dst;
  std::size_t row_bytes;
};

// Smallest and largest of `count` indices (count > 0), for the bounds check
// done before a gather. Two plain reductions, so it vectorizes.
struct IndexRange {
  std::int64_t min;
  std::int64_t max;
};
IndexRange index_range(const std::int64_t* indices, std::size_t count);

// dst row i of every field = src row indices[i]. A negative index is padding
// and writes a row of zeros. Every source has `num_rows` rows and indices must
// already be < num_rows (and all negative when num_rows is 0). Fields must not
// overlap.
// Large gathers are split by rows over the kernel threads (mlaf/parallel.h);
// the destinations receive the same bytes whatever the thread count.
void gather_rows(const RowField* fields, std::size_t num_fields, std::size_t num_rows,
                 const std::int64_t* indices, std::size_t count);
// gather_rows() on the calling thread only.
void gather_rows_serial(const RowField* fields, std::size_t num_fields, std::size_t num_rows,
                        const std::int64_t* indices, std::size_t count);
// How many row blocks gather_rows() splits such a call into with `threads` threads.
std::size_t gather_chunks(const RowField* fields, std::size_t num_fields, std::size_t count,
                          int threads);

// Writes `count` rows of every field's `src` into its `dst` at rows start,
// start + 1, ... taken modulo `num_rows` (a ring; a rollout step is the case
// that does not wrap). Requires count <= num_rows.
void write_rows(const RowField* fields, std::size_t num_fields, std::size_t start,
                std::size_t count, std::size_t num_rows);

// out = a uniformly random permutation of 0 .. count-1 (Fisher-Yates).
void shuffled_indices(Rng& rng, std::int64_t* out, std::size_t count);

// Sequence-aligned indices over a time-major [steps, agents] rollout whose
// flat row index is t * agents + n. The rollout of each agent is cut into
// chunks of seq_len consecutive steps starting at t = 0; chunks are shuffled
// and written one after another, each as seq_len indices in time order. The
// last chunk of an agent is padded with -1 when steps % seq_len != 0.
// out holds ceil(steps / seq_len) * agents * seq_len entries.
void sequence_indices(Rng& rng, std::size_t steps, std::size_t agents, std::size_t seq_len,
                      std::int64_t* out);

// count indices drawn uniformly, with replacement, from [0, bound), bound > 0.
void uniform_indices(Rng& rng, std::uint64_t bound, std::int64_t* out, std::size_t count);

}  // namespace mlaf
