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

// Inference forward of `groups` Swish MLP bodies that read the same input (the actor's and
// the critic's): x [rows, inputs], optionally normalized per group as
// clamp((x - mean) / sqrt(variance), -clip, clip) (mean, variance [groups, inputs], or
// nullptr), then per layer l: h <- swish(h W_l^T + b_l) with W_l [groups, width, in_l] and
// b_l [groups, width]. Writes out [groups, rows, width]. Meant for a handful of rows (one
// decision for each agent), where a call per matrix product costs more than the product;
// `scratch` holds 2 * rows * max(width, inputs) floats.
struct DenseLayer {
  const float* weight = nullptr;  // [groups, width, inputs]
  const float* bias = nullptr;    // [groups, width]
  std::size_t inputs = 0;
};
void swish_mlp_forward(const float* x, std::size_t rows, std::size_t groups, const float* mean,
                       const float* variance, float clip, const DenseLayer* layers,
                       std::size_t count, std::size_t width, float* out, float* scratch);

// Linear heads on a [rows, hidden] input: out_k = h W_k^T + b_k, W_k [outputs_k, hidden].
struct HeadForward {
  const float* weight = nullptr;
  const float* bias = nullptr;
  float* out = nullptr;  // [rows, outputs]
  std::size_t outputs = 0;
};
void heads_forward(const float* h, std::size_t rows, std::size_t hidden, const HeadForward* heads,
                   std::size_t count);

// The backward of z = h W^T + b for a few rows of h and a very wide W [outputs,
// hidden] (a hypernetwork's generator layer: 2 rows, 16384 x 128): weight_grad +=
// g^T h and bias_grad += the column sums of g (both accumulate, as autograd would
// into existing gradients), grad_h = g W (written). One pass over W and weight_grad,
// output by output, where a framework makes one per product and per row.
void wide_linear_backward(const float* h, const float* weight, const float* grad_out,
                          std::size_t rows, std::size_t outputs, std::size_t hidden,
                          float* weight_grad, float* bias_grad, float* grad_h);

// torch.optim.Adam's update (no weight decay, eps outside the square root, bias
// corrections of step `step` >= 1) over `count` parameters in one pass.
void adam_step(float* param, const float* grad, float* exp_avg, float* exp_avg_sq,
               std::size_t count, float lr, float beta1, float beta2, float eps, long step);

}  // namespace mlaf
