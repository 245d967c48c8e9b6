// Running observation normalizer with ML-Agents' `normalize: true` semantics.
//
// Statistics (count, per-feature mean and sum of squared deviations M2) are
// float64 and merged with Chan et al.'s parallel formula, which equals
// ML-Agents' batch Welford update in exact arithmetic. ML-Agents starts from a
// prior of one pseudo-observation with mean 0 and variance 1
// (initial_count = 1); initial_count = 0 gives plain sample statistics.
// normalize() computes clamp((x - mean) / sqrt(M2 / count), -clip, clip) in one
// pass over float32 data.
#pragma once

#include <cstddef>
#include <mutex>
#include <vector>

namespace mlaf {

struct NormalizerState {
  double count;
  std::vector<double> mean;
  std::vector<double> m2;  // sum of squared deviations from the mean
};

// Every method locks the object, so one normalizer may be shared by threads.
class RunningNormalizer {
 public:
  // Variances below this are raised to it, so a constant feature maps to 0
  // rather than to NaN (x - mean = 0 divided by 0).
  static constexpr double kMinVariance = 1e-8;

  RunningNormalizer(std::size_t size, double initial_count, float clip);

  std::size_t size() const { return mean_.size(); }  // fixed at construction
  float clip() const { return clip_; }               // fixed at construction
  NormalizerState state() const;

  // Adds a [rows, size] row-major batch. Throws std::domain_error naming the
  // first non-finite column and leaves the state unchanged if the batch holds
  // NaN or inf.
  void update(const float* batch, std::size_t rows);

  // Merges statistics gathered elsewhere (another normalizer, a worker).
  void merge(double count, const double* mean, const double* m2);

  // Replaces the state; together with the getters this round-trips bit-exactly.
  void set_state(double count, const double* mean, const double* m2);

  // out may alias x. NaN inputs propagate to NaN outputs.
  void normalize(const float* x, std::size_t rows, float* out) const;

 private:
  void merge_locked(double count, const double* mean, const double* m2);
  void refresh_scale();

  mutable std::mutex mutex_;
  double count_;
  float clip_;
  std::vector<double> mean_;
  std::vector<double> m2_;
  // float32 copies used by normalize(): mean and 1/std per feature.
  std::vector<float> mean_f32_;
  std::vector<float> inv_std_f32_;
  // Scratch for update(), kept to avoid allocating per call.
  std::vector<double> sum_;
  std::vector<double> sum_sq_;
};

}  // namespace mlaf
