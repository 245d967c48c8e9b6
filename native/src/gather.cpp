#include "mlaf/gather.h"

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "mlaf/parallel.h"
#include "mlaf/simd.h"

namespace mlaf {
namespace {

// Rows are read in random order, so the hardware prefetcher cannot help: ask
// for the row kPrefetchAhead indices ahead while copying the current one.
constexpr std::size_t kPrefetchAhead = 8;

inline void prefetch_row(const std::uint8_t* src, std::size_t row_bytes,
                         const std::int64_t* indices, std::size_t i, std::size_t count) {
  if (i + kPrefetchAhead < count && indices[i + kPrefetchAhead] >= 0) {
    const std::uint8_t* row =
        src + static_cast<std::size_t>(indices[i + kPrefetchAhead]) * row_bytes;
    for (std::size_t line = 0; line < row_bytes; line += 64) __builtin_prefetch(row + line);
  }
}

// Small rows are gathered several fields per pass over the indices: each
// index is loaded once for the whole group and every pointer stays in a
// register, which measured about twice as fast as one pass per field. The
// group functions stay out of the SIMD clones (noinline): there the loop turns
// into SIMD gather instructions, which measured slower than scalar code.
constexpr std::size_t kMaxGroup = 4;

template <std::size_t kBytes, std::size_t kFields>
MLAF_NOINLINE void gather_group(const RowField* const* group, const std::int64_t* indices,
                                std::size_t count) {
  const std::uint8_t* src[kFields];
  std::uint8_t* dst[kFields];
  for (std::size_t f = 0; f < kFields; ++f) {
    src[f] = group[f]->src;
    dst[f] = group[f]->dst;
  }
  for (std::size_t i = 0; i < count; ++i) {
    const std::int64_t row = indices[i];
    if (row >= 0) {
      const std::size_t offset = static_cast<std::size_t>(row) * kBytes;
      for (std::size_t f = 0; f < kFields; ++f)
        std::memcpy(dst[f] + i * kBytes, src[f] + offset, kBytes);
    } else {
      for (std::size_t f = 0; f < kFields; ++f) std::memset(dst[f] + i * kBytes, 0, kBytes);
    }
  }
}

template <std::size_t kBytes>
void gather_group_any(const RowField* const* group, std::size_t size, const std::int64_t* indices,
                      std::size_t count) {
  switch (size) {
    case 1:
      gather_group<kBytes, 1>(group, indices, count);
      break;
    case 2:
      gather_group<kBytes, 2>(group, indices, count);
      break;
    case 3:
      gather_group<kBytes, 3>(group, indices, count);
      break;
    default:
      gather_group<kBytes, 4>(group, indices, count);
  }
}

// Gathers every field whose rows are kBytes wide, kMaxGroup fields at a time.
template <std::size_t kBytes>
void gather_size_class(const RowField* fields, std::size_t num_fields, const std::int64_t* indices,
                       std::size_t count) {
  const RowField* group[kMaxGroup];
  std::size_t size = 0;
  for (std::size_t f = 0; f < num_fields; ++f) {
    if (fields[f].row_bytes != kBytes) continue;
    group[size++] = &fields[f];
    if (size == kMaxGroup) {
      gather_group_any<kBytes>(group, size, indices, count);
      size = 0;
    }
  }
  if (size > 0) gather_group_any<kBytes>(group, size, indices, count);
}

constexpr bool is_small_row(std::size_t bytes) {
  return bytes == 1 || bytes == 2 || bytes == 4 || bytes == 8 || bytes == 16 || bytes == 32;
}

// Copies one row of `bytes` bytes. Whole 16-byte chunks compile to inline
// vector moves (64 bytes at a time in the AVX-512 clone), which is cheaper
// than a memcpy call per row for the row sizes buffers hold.
MLAF_ALWAYS_INLINE void copy_row(std::uint8_t* out, const std::uint8_t* in, std::size_t bytes) {
  std::size_t k = 0;
  for (; k + 64 <= bytes; k += 64) std::memcpy(out + k, in + k, 64);
  for (; k + 16 <= bytes; k += 16) std::memcpy(out + k, in + k, 16);
  if (k < bytes) std::memcpy(out + k, in + k, bytes - k);
}

// Wide rows (and odd sizes), one row at a time.
MLAF_ALWAYS_INLINE void gather_wide(const std::uint8_t* src, std::uint8_t* dst, std::size_t bytes,
                                    const std::int64_t* indices, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    if (bytes >= 64) prefetch_row(src, bytes, indices, i, count);
    const std::int64_t row = indices[i];
    std::uint8_t* out = dst + i * bytes;
    if (row >= 0) {
      copy_row(out, src + static_cast<std::size_t>(row) * bytes, bytes);
    } else {
      std::memset(out, 0, bytes);
    }
  }
}

// Gathers of at least this many bytes are split over the kernel threads, by
// rows: chunk c gathers indices [c * rows, (c + 1) * rows) of every field into
// the same rows of the destinations as on one thread. Smaller gathers cost
// less than waking a helper. Chunks are at least kMinChunkRows rows.
constexpr std::size_t kMinSplitBytes = std::size_t{64} << 10;
constexpr std::size_t kMinChunkRows = 128;
// Fields a chunk can re-point on the stack; a plan with more runs on one thread.
constexpr std::size_t kMaxSplitFields = 64;

struct GatherCall {
  const RowField* fields;
  std::size_t num_fields;
  std::size_t num_rows;
  const std::int64_t* indices;
  std::size_t count;
  std::size_t chunk_rows;
};

}  // namespace

std::size_t gather_chunks(const RowField* fields, std::size_t num_fields, std::size_t count,
                          int threads) {
  std::size_t row_bytes = 0;
  for (std::size_t f = 0; f < num_fields; ++f) row_bytes += fields[f].row_bytes;
  if (threads <= 1 || num_fields > kMaxSplitFields || count * row_bytes < kMinSplitBytes) return 1;
  // Two chunks a thread, so a helper that joins late still finds work.
  return std::max<std::size_t>(
      1, std::min(2 * static_cast<std::size_t>(threads), count / kMinChunkRows));
}

void gather_rows(const RowField* fields, std::size_t num_fields, std::size_t num_rows,
                 const std::int64_t* indices, std::size_t count) {
  const std::size_t chunks = gather_chunks(fields, num_fields, count, kernel_threads());
  if (chunks <= 1) {
    gather_rows_serial(fields, num_fields, num_rows, indices, count);
    return;
  }
  GatherCall call{fields, num_fields, num_rows, indices, count, (count + chunks - 1) / chunks};
  auto body = [&call](std::size_t c) {
    const std::size_t begin = std::min(call.count, c * call.chunk_rows);
    const std::size_t end = std::min(call.count, begin + call.chunk_rows);
    if (begin == end) return;
    RowField shifted[kMaxSplitFields];
    for (std::size_t f = 0; f < call.num_fields; ++f) {
      shifted[f] = call.fields[f];
      shifted[f].dst += begin * shifted[f].row_bytes;
    }
    gather_rows_serial(shifted, call.num_fields, call.num_rows, call.indices + begin, end - begin);
  };
  parallel_chunks(chunks, body);
}

MLAF_SIMD_CLONES void gather_rows_serial(const RowField* fields, std::size_t num_fields,
                                         std::size_t num_rows, const std::int64_t* indices,
                                         std::size_t count) {
  if (num_rows == 0) {  // every index is padding
    for (std::size_t f = 0; f < num_fields; ++f) {
      std::memset(fields[f].dst, 0, count * fields[f].row_bytes);
    }
    return;
  }
  gather_size_class<1>(fields, num_fields, indices, count);
  gather_size_class<2>(fields, num_fields, indices, count);
  gather_size_class<4>(fields, num_fields, indices, count);
  gather_size_class<8>(fields, num_fields, indices, count);
  gather_size_class<16>(fields, num_fields, indices, count);
  gather_size_class<32>(fields, num_fields, indices, count);
  for (std::size_t f = 0; f < num_fields; ++f) {
    const RowField& field = fields[f];
    if (!is_small_row(field.row_bytes)) {
      gather_wide(field.src, field.dst, field.row_bytes, indices, count);
    }
  }
}

MLAF_SIMD_CLONES IndexRange index_range(const std::int64_t* indices, std::size_t count) {
  std::int64_t low = indices[0];
  std::int64_t high = indices[0];
  for (std::size_t i = 1; i < count; ++i) {
    low = indices[i] < low ? indices[i] : low;
    high = indices[i] > high ? indices[i] : high;
  }
  return {low, high};
}

void write_rows(const RowField* fields, std::size_t num_fields, std::size_t start,
                std::size_t count, std::size_t num_rows) {
  if (count == 0 || num_rows == 0) return;
  start %= num_rows;
  const std::size_t first = std::min(count, num_rows - start);
  for (std::size_t f = 0; f < num_fields; ++f) {
    const RowField& field = fields[f];
    std::memcpy(field.dst + start * field.row_bytes, field.src, first * field.row_bytes);
    if (first < count) {
      std::memcpy(field.dst, field.src + first * field.row_bytes,
                  (count - first) * field.row_bytes);
    }
  }
}

void shuffled_indices(Rng& rng, std::int64_t* out, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) out[i] = static_cast<std::int64_t>(i);
  for (std::size_t i = count; i > 1; --i) {
    const std::size_t j = rng.below(i);
    std::swap(out[i - 1], out[j]);
  }
}

void sequence_indices(Rng& rng, std::size_t steps, std::size_t agents, std::size_t seq_len,
                      std::int64_t* out) {
  const std::size_t chunks_per_agent = (steps + seq_len - 1) / seq_len;
  const std::size_t num_chunks = chunks_per_agent * agents;
  std::vector<std::int64_t> order(num_chunks);
  shuffled_indices(rng, order.data(), num_chunks);
  for (std::size_t c = 0; c < num_chunks; ++c) {
    const auto chunk = static_cast<std::size_t>(order[c]);
    const std::size_t agent = chunk / chunks_per_agent;
    const std::size_t start = (chunk % chunks_per_agent) * seq_len;
    std::int64_t* seq = out + c * seq_len;
    for (std::size_t k = 0; k < seq_len; ++k) {
      const std::size_t t = start + k;
      seq[k] = t < steps ? static_cast<std::int64_t>(t * agents + agent) : -1;
    }
  }
}

void uniform_indices(Rng& rng, std::uint64_t bound, std::int64_t* out, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) out[i] = static_cast<std::int64_t>(rng.below(bound));
}

}  // namespace mlaf
