#include "mlaf/gather.h"

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

namespace mlaf {
namespace {

// Fixed-size rows compile to plain loads and stores instead of memcpy calls.
template <std::size_t kBytes>
void gather_fixed(const std::uint8_t* src, std::uint8_t* dst, const std::int64_t* indices,
                  std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    const std::int64_t row = indices[i];
    std::uint8_t* out = dst + i * kBytes;
    if (row >= 0) {
      std::memcpy(out, src + static_cast<std::size_t>(row) * kBytes, kBytes);
    } else {
      std::memset(out, 0, kBytes);
    }
  }
}

void gather_any(const std::uint8_t* src, std::uint8_t* dst, std::size_t row_bytes,
                const std::int64_t* indices, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    const std::int64_t row = indices[i];
    std::uint8_t* out = dst + i * row_bytes;
    if (row >= 0) {
      std::memcpy(out, src + static_cast<std::size_t>(row) * row_bytes, row_bytes);
    } else {
      std::memset(out, 0, row_bytes);
    }
  }
}

}  // namespace

void gather_rows(const RowField* fields, std::size_t num_fields, const std::int64_t* indices,
                 std::size_t count) {
  for (std::size_t f = 0; f < num_fields; ++f) {
    const RowField& field = fields[f];
    switch (field.row_bytes) {
      case 1: gather_fixed<1>(field.src, field.dst, indices, count); break;
      case 2: gather_fixed<2>(field.src, field.dst, indices, count); break;
      case 4: gather_fixed<4>(field.src, field.dst, indices, count); break;
      case 8: gather_fixed<8>(field.src, field.dst, indices, count); break;
      case 16: gather_fixed<16>(field.src, field.dst, indices, count); break;
      case 32: gather_fixed<32>(field.src, field.dst, indices, count); break;
      default: gather_any(field.src, field.dst, field.row_bytes, indices, count);
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
