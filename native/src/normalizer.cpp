#include "mlaf/normalizer.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "mlaf/simd.h"

namespace mlaf {

RunningNormalizer::RunningNormalizer(std::size_t size, double initial_count, float clip)
    : count_(initial_count),
      clip_(clip),
      mean_(size, 0.0),
      m2_(size, initial_count),  // variance 1 for the prior pseudo-count
      mean_f32_(size),
      inv_std_f32_(size),
      sum_(size),
      sum_sq_(size) {
  refresh_scale();
}

NormalizerState RunningNormalizer::state() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return {count_, mean_, m2_};
}

MLAF_SIMD_CLONES void RunningNormalizer::update(const float* batch, std::size_t rows) {
  if (rows == 0) return;
  std::lock_guard<std::mutex> lock(mutex_);
  const std::size_t size = mean_.size();
  // One pass of sums shifted by the batch's first row: the shift lies inside
  // the data, so sum_sq - sum^2/rows does not cancel catastrophically.
  const float* shift = batch;
  std::fill(sum_.begin(), sum_.end(), 0.0);
  std::fill(sum_sq_.begin(), sum_sq_.end(), 0.0);
  double* sum = sum_.data();
  double* sum_sq = sum_sq_.data();
  for (std::size_t r = 0; r < rows; ++r) {
    const float* row = batch + r * size;
    for (std::size_t d = 0; d < size; ++d) {
      const double y = static_cast<double>(row[d]) - static_cast<double>(shift[d]);
      sum[d] += y;
      sum_sq[d] += y * y;
    }
  }
  const double n = static_cast<double>(rows);
  for (std::size_t d = 0; d < size; ++d) {
    // A NaN anywhere in the column makes both sums NaN, an inf makes them
    // inf or NaN; the shift itself is checked for the inf - inf case.
    if (!std::isfinite(sum_sq[d]) || !std::isfinite(static_cast<double>(shift[d]))) {
      throw std::domain_error("column " + std::to_string(d) + " holds NaN or inf");
    }
  }
  for (std::size_t d = 0; d < size; ++d) {
    // The scratch arrays become the batch's mean and M2, in place.
    const double offset = sum[d] / n;
    const double batch_m2 = std::max(0.0, sum_sq[d] - sum[d] * offset);
    sum[d] = static_cast<double>(shift[d]) + offset;
    sum_sq[d] = batch_m2;
  }
  merge_locked(n, sum_.data(), sum_sq_.data());
}

void RunningNormalizer::merge(double count, const double* mean, const double* m2) {
  std::lock_guard<std::mutex> lock(mutex_);
  merge_locked(count, mean, m2);
}

void RunningNormalizer::merge_locked(double count, const double* mean, const double* m2) {
  if (count <= 0.0) return;
  const double total = count_ + count;
  const double weight = count / total;
  const double cross = count_ * count / total;
  for (std::size_t d = 0; d < mean_.size(); ++d) {
    const double delta = mean[d] - mean_[d];
    mean_[d] += delta * weight;
    m2_[d] += m2[d] + delta * delta * cross;
  }
  count_ = total;
  refresh_scale();
}

void RunningNormalizer::set_state(double count, const double* mean, const double* m2) {
  std::lock_guard<std::mutex> lock(mutex_);
  count_ = count;
  std::copy(mean, mean + mean_.size(), mean_.begin());
  std::copy(m2, m2 + m2_.size(), m2_.begin());
  refresh_scale();
}

void RunningNormalizer::refresh_scale() {
  for (std::size_t d = 0; d < mean_.size(); ++d) {
    const double variance = count_ > 0.0 ? m2_[d] / count_ : 1.0;
    mean_f32_[d] = static_cast<float>(mean_[d]);
    inv_std_f32_[d] = static_cast<float>(1.0 / std::sqrt(std::max(variance, kMinVariance)));
  }
}

MLAF_SIMD_CLONES void RunningNormalizer::normalize(const float* x, std::size_t rows,
                                                   float* out) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::size_t size = mean_.size();
  const float* mean = mean_f32_.data();
  const float* inv_std = inv_std_f32_.data();
  const float hi = clip_;
  const float lo = -clip_;
  for (std::size_t r = 0; r < rows; ++r) {
    const float* in_row = x + r * size;
    float* out_row = out + r * size;
    for (std::size_t d = 0; d < size; ++d) {
      const float z = (in_row[d] - mean[d]) * inv_std[d];
      // Written as selects so NaN passes through (both comparisons are false).
      out_row[d] = z < lo ? lo : (z > hi ? hi : z);
    }
  }
}

}  // namespace mlaf
