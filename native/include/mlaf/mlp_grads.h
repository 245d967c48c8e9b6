// Small pieces of a dense network's backward pass and its optimizer step, for
// the small MLPs of PPO, where each would otherwise be several framework calls
// costing more than their arithmetic. The large matrix products stay with the
// caller. Row-major float32 throughout.
#pragma once

#include <cstddef>

namespace mlaf {

// The backward of swish(z) = z * sigmoid(z) from what the forward kept, the
// sigmoid s and the output h = z * s: grad <- grad * (s + h * (1 - s)), in place
// over `groups` blocks of [rows, width]; bias_grad [groups, width] gets the
// column sums of each block of the new grad (the layer's bias gradient).
void swish_backward(const float* sigmoid, const float* output, float* grad, std::size_t groups,
                    std::size_t rows, std::size_t width, float* bias_grad);

// One linear head z = h W^T + b of a [rows, hidden] input h, with d loss / d z given.
struct HeadGrad {
  const float* weight = nullptr;    // [outputs, hidden]
  const float* grad_out = nullptr;  // [rows, outputs]
  float* weight_grad = nullptr;     // [outputs, hidden], written
  float* bias_grad = nullptr;       // [outputs], written
  std::size_t outputs = 0;
};

// Writes each head's weight and bias gradients and grad_h = sum over heads of
// grad_out W, the gradient reaching their shared input.
void heads_backward(const float* h, std::size_t rows, std::size_t hidden, const HeadGrad* heads,
                    std::size_t count, float* grad_h);

// torch.optim.Adam's update (no weight decay, eps outside the square root, bias
// corrections of step `step` >= 1) over `count` parameters in one pass.
void adam_step(float* param, const float* grad, float* exp_avg, float* exp_avg_sq,
               std::size_t count, float lr, float beta1, float beta2, float eps, long step);

}  // namespace mlaf
