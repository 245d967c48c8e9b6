#include "mlaf/mlp_grads.h"

#include <algorithm>
#include <cmath>

#include "mlaf/simd.h"

namespace mlaf {
namespace {

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
                                          const HeadGrad* heads, std::size_t count,
                                          float* grad_h) {
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

MLAF_SIMD_CLONES void adam_impl(float* param, const float* grad, float* exp_avg,
                                float* exp_avg_sq, std::size_t count, float beta1, float beta2,
                                float eps, float step_size, float bias2_sqrt) {
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

void heads_backward(const float* h, std::size_t rows, std::size_t hidden, const HeadGrad* heads,
                    std::size_t count, float* grad_h) {
  heads_backward_impl(h, rows, hidden, heads, count, grad_h);
}

void adam_step(float* param, const float* grad, float* exp_avg, float* exp_avg_sq,
               std::size_t count, float lr, float beta1, float beta2, float eps, long step) {
  const double bias1 = 1.0 - std::pow(static_cast<double>(beta1), static_cast<double>(step));
  const double bias2 = 1.0 - std::pow(static_cast<double>(beta2), static_cast<double>(step));
  adam_impl(param, grad, exp_avg, exp_avg_sq, count, beta1, beta2, eps,
            static_cast<float>(lr / bias1), static_cast<float>(std::sqrt(bias2)));
}

}  // namespace mlaf
