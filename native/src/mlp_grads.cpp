#include "mlaf/mlp_grads.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "mlaf/fast_math.h"
#include "mlaf/simd.h"

namespace mlaf {
namespace {

// x . w over n floats with eight independent partial sums, which the compiler turns into one
// SIMD multiply-add per eight elements (a single running sum would not vectorize without
// reassociating float additions).
MLAF_ALWAYS_INLINE float dot(const float* x, const float* w, std::size_t n) {
  float partial[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::size_t k = 0;
  for (; k + 8 <= n; k += 8) {
    for (std::size_t u = 0; u < 8; ++u) partial[u] += x[k + u] * w[k + u];
  }
  float sum = ((partial[0] + partial[1]) + (partial[2] + partial[3])) +
              ((partial[4] + partial[5]) + (partial[6] + partial[7]));
  for (; k < n; ++k) sum += x[k] * w[k];
  return sum;
}

// out[rows, width] = swish(in[rows, inputs] W^T + b): rows of W are contiguous over inputs,
// so each output is a dot product; the swish pass afterwards vectorizes over the row.
MLAF_ALWAYS_INLINE void dense_swish(const float* in, std::size_t rows, std::size_t inputs,
                                    const float* weight, const float* bias, std::size_t width,
                                    float* out) {
  for (std::size_t r = 0; r < rows; ++r) {
    const float* x = in + r * inputs;
    float* y = out + r * width;
    for (std::size_t j = 0; j < width; ++j) y[j] = dot(x, weight + j * inputs, inputs) + bias[j];
    for (std::size_t j = 0; j < width; ++j) y[j] = y[j] / (1.0f + exp_approx(-y[j]));
  }
}

MLAF_SIMD_CLONES void swish_mlp_forward_impl(const float* x, std::size_t rows, std::size_t groups,
                                             const float* mean, const float* variance, float clip,
                                             const DenseLayer* layers, std::size_t count,
                                             std::size_t width, float* out, float* scratch) {
  const std::size_t inputs = layers[0].inputs;
  const std::size_t span = rows * std::max(width, inputs);
  float* a = scratch;
  float* b = scratch + span;
  for (std::size_t g = 0; g < groups; ++g) {
    const float* h = x;
    if (mean != nullptr) {
      for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t k = 0; k < inputs; ++k) {
          const float v =
              (x[r * inputs + k] - mean[g * inputs + k]) / std::sqrt(variance[g * inputs + k]);
          a[r * inputs + k] = std::min(std::max(v, -clip), clip);
        }
      }
      h = a;
    }
    for (std::size_t l = 0; l < count; ++l) {
      const DenseLayer& layer = layers[l];
      float* target = l + 1 == count ? out + g * rows * width : (h == a ? b : a);
      dense_swish(h, rows, layer.inputs, layer.weight + g * width * layer.inputs,
                  layer.bias + g * width, width, target);
      h = target;
    }
  }
}

MLAF_SIMD_CLONES void heads_forward_impl(const float* h, std::size_t rows, std::size_t hidden,
                                         const HeadForward* heads, std::size_t count) {
  for (std::size_t k = 0; k < count; ++k) {
    const HeadForward& head = heads[k];
    for (std::size_t r = 0; r < rows; ++r) {
      const float* x = h + r * hidden;
      for (std::size_t o = 0; o < head.outputs; ++o)
        head.out[r * head.outputs + o] = dot(x, head.weight + o * hidden, hidden) + head.bias[o];
    }
  }
}

// out[j] += scale * x[j]: the inner loop of the head products, vectorized over hidden units.
MLAF_ALWAYS_INLINE void axpy(float scale, const float* x, float* out, std::size_t n) {
  for (std::size_t j = 0; j < n; ++j) out[j] += scale * x[j];
}

MLAF_SIMD_CLONES void swish_backward_impl(const float* sigmoid, const float* output, float* grad,
                                          std::size_t groups, std::size_t rows, std::size_t width,
                                          float* bias_grad) {
  std::fill(bias_grad, bias_grad + groups * width, 0.0f);
  for (std::size_t g = 0; g < groups; ++g) {
    float* sums = bias_grad + g * width;
    for (std::size_t r = 0; r < rows; ++r) {
      const std::size_t row = (g * rows + r) * width;
      const float* s = sigmoid + row;
      const float* h = output + row;
      float* out = grad + row;
      for (std::size_t j = 0; j < width; ++j) {
        out[j] *= s[j] + h[j] * (1.0f - s[j]);
        sums[j] += out[j];
      }
    }
  }
}

MLAF_SIMD_CLONES void heads_backward_impl(const float* h, std::size_t rows, std::size_t hidden,
                                          const HeadGrad* heads, std::size_t count, float* grad_h) {
  std::fill(grad_h, grad_h + rows * hidden, 0.0f);
  for (std::size_t k = 0; k < count; ++k) {
    const HeadGrad& head = heads[k];
    std::fill(head.weight_grad, head.weight_grad + head.outputs * hidden, 0.0f);
    std::fill(head.bias_grad, head.bias_grad + head.outputs, 0.0f);
    for (std::size_t r = 0; r < rows; ++r) {
      const float* g = head.grad_out + r * head.outputs;
      const float* h_row = h + r * hidden;
      float* grad_h_row = grad_h + r * hidden;
      for (std::size_t o = 0; o < head.outputs; ++o) {
        axpy(g[o], h_row, head.weight_grad + o * hidden, hidden);  // W grad: g^T h
        axpy(g[o], head.weight + o * hidden, grad_h_row, hidden);  // input grad: g W
        head.bias_grad[o] += g[o];
      }
    }
  }
}

MLAF_SIMD_CLONES void wide_linear_backward_impl(const float* h, const float* weight,
                                                const float* grad_out, std::size_t rows,
                                                std::size_t outputs, std::size_t hidden,
                                                float* weight_grad, float* bias_grad,
                                                float* grad_h) {
  std::fill(grad_h, grad_h + rows * hidden, 0.0f);
  for (std::size_t o = 0; o < outputs; ++o) {
    const float* w = weight + o * hidden;
    float* wg = weight_grad + o * hidden;  // stays in L1 across the few rows
    float bias = 0.0f;
    for (std::size_t r = 0; r < rows; ++r) {
      const float g = grad_out[r * outputs + o];
      axpy(g, h + r * hidden, wg, hidden);
      axpy(g, w, grad_h + r * hidden, hidden);
      bias += g;
    }
    bias_grad[o] += bias;
  }
}

MLAF_SIMD_CLONES void adam_impl(float* param, const float* grad, float* exp_avg, float* exp_avg_sq,
                                std::size_t count, float beta1, float beta2, float eps,
                                float step_size, float bias2_sqrt) {
  for (std::size_t i = 0; i < count; ++i) {
    const float g = grad[i];
    const float m = exp_avg[i] + (g - exp_avg[i]) * (1.0f - beta1);  // torch's lerp_
    const float v = exp_avg_sq[i] * beta2 + (1.0f - beta2) * g * g;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    param[i] -= step_size * (m / (std::sqrt(v) / bias2_sqrt + eps));  // torch's addcdiv_
  }
}

}  // namespace

void swish_backward(const float* sigmoid, const float* output, float* grad, std::size_t groups,
                    std::size_t rows, std::size_t width, float* bias_grad) {
  swish_backward_impl(sigmoid, output, grad, groups, rows, width, bias_grad);
}

void swish_mlp_forward(const float* x, std::size_t rows, std::size_t groups, const float* mean,
                       const float* variance, float clip, const DenseLayer* layers,
                       std::size_t count, std::size_t width, float* out, float* scratch) {
  swish_mlp_forward_impl(x, rows, groups, mean, variance, clip, layers, count, width, out, scratch);
}

void heads_forward(const float* h, std::size_t rows, std::size_t hidden, const HeadForward* heads,
                   std::size_t count) {
  heads_forward_impl(h, rows, hidden, heads, count);
}

void heads_backward(const float* h, std::size_t rows, std::size_t hidden, const HeadGrad* heads,
                    std::size_t count, float* grad_h) {
  heads_backward_impl(h, rows, hidden, heads, count, grad_h);
}

void wide_linear_backward(const float* h, const float* weight, const float* grad_out,
                          std::size_t rows, std::size_t outputs, std::size_t hidden,
                          float* weight_grad, float* bias_grad, float* grad_h) {
  wide_linear_backward_impl(h, weight, grad_out, rows, outputs, hidden, weight_grad, bias_grad,
                            grad_h);
}

void adam_step(float* param, const float* grad, float* exp_avg, float* exp_avg_sq,
               std::size_t count, float lr, float beta1, float beta2, float eps, long step) {
  const double bias1 = 1.0 - std::pow(static_cast<double>(beta1), static_cast<double>(step));
  const double bias2 = 1.0 - std::pow(static_cast<double>(beta2), static_cast<double>(step));
  adam_impl(param, grad, exp_avg, exp_avg_sq, count, beta1, beta2, eps,
            static_cast<float>(lr / bias1), static_cast<float>(std::sqrt(bias2)));
}

}  // namespace mlaf
