#include "mlaf/gather.h"

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

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

// Rows of one scalar: a plain load and store each. Kept out of the SIMD
// clones: there the loop becomes SIMD gather instructions, which measured
// slower than scalar code.
#if defined(__GNUC__)
#define MLAF_NOINLINE __attribute__((noinline))
#else
#define MLAF_NOINLINE
#endif
template <typename T>
MLAF_NOINLINE void gather_scalars(const std::uint8_t* src_bytes, std::uint8_t* dst_bytes,
                                  const std::int64_t* indices, std::size_t count) {
  const auto* src = reinterpret_cast<const T*>(src_bytes);
  auto* dst = reinterpret_cast<T*>(dst_bytes);
  for (std::size_t i = 0; i < count; ++i) {
    const std::int64_t row = indices[i];
    if (row >= 0) {
      dst[i] = src[row];
    } else {
      dst[i] = T(0);
    }
  }
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

// Wider rows, one row at a time (fixed size when known at compile time).
template <std::size_t kBytes>
MLAF_ALWAYS_INLINE void gather_wide(const std::uint8_t* src, std::uint8_t* dst,
                                    std::size_t row_bytes, const std::int64_t* indices,
                                    std::size_t count) {
  const std::size_t bytes = kBytes > 0 ? kBytes : row_bytes;
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

}  // namespace

MLAF_SIMD_CLONES void gather_rows(const RowField* fields, std::size_t num_fields,
                                  std::size_t num_rows, const std::int64_t* indices,
                                  std::size_t count) {
  for (std::size_t f = 0; f < num_fields; ++f) {
    const RowField& field = fields[f];
    if (num_rows == 0) {  // every index is padding
      std::memset(field.dst, 0, count * field.row_bytes);
      continue;
    }
    switch (field.row_bytes) {
      case 1:
        gather_scalars<std::uint8_t>(field.src, field.dst, indices, count);
        break;
      case 2:
        gather_scalars<std::uint16_t>(field.src, field.dst, indices, count);
        break;
      case 4:
        gather_scalars<std::uint32_t>(field.src, field.dst, indices, count);
        break;
      case 8:
        gather_scalars<std::uint64_t>(field.src, field.dst, indices, count);
        break;
      case 16:
        gather_wide<16>(field.src, field.dst, 16, indices, count);
        break;
      case 32:
        gather_wide<32>(field.src, field.dst, 32, indices, count);
        break;
      default:
        gather_wide<0>(field.src, field.dst, field.row_bytes, indices, count);
    }
  }
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
