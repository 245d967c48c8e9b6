// The recurrence of one LSTM layer over a batch of sequences, forward and backward, for the
// memory of PPO and SAC policies. A framework runs each time step as several kernel calls; here
// a whole batch of sequences is one call each way. The products that do not depend on the
// previous step (the input's projection, the weight gradients) stay with the caller as single
// matrix products over every step at once.
//
// Gates in torch's order (input i, forget f, cell g, output o), each `hidden` wide:
//   z_t = input_gates_t + W_hh h_{t-1};  i, f, o = sigmoid(z);  g = tanh(z)
//   c_t = f c_{t-1} + i g;  h_t = o tanh(c_t)
// Row-major float32; sequences of `steps` steps laid out one after another ([N, T, ...]).
#pragma once

#include <cstddef>

namespace mlaf {

struct LstmShape {
  std::size_t sequences = 0;  // N
  std::size_t steps = 0;      // T
  std::size_t hidden = 0;     // H
};

// input_gates [N, T, 4H] (x W_ih^T + b_ih + b_hh), w_hh_t [H, 4H] (W_hh transposed: its rows
// scaled by h's entries add up to W_hh h), h0 and c0 [N, H]. Writes hidden_out [N, T, H] (h_t),
// cell_out [N, T, H] (c_t) and gates_out [N, T, 4H] (i, f, g, o after their activations, what
// the backward needs).
void lstm_forward(const float* input_gates, const float* w_hh_t, const float* h0, const float* c0,
                  const LstmShape& shape, float* hidden_out, float* cell_out, float* gates_out);

// With w_hh [4H, H] (not transposed), from the forward's c0, cell_out and gates_out, and d loss / d
// h_t for every step (grad_hidden [N, T, H]) plus d loss / d the final state (grad_h_last,
// grad_c_last [N, H], or nullptr for none): writes d loss / d z_t (grad_gates [N, T, 4H], the same
// for both biases) and d loss / d (h0, c0) (grad_h0, grad_c0 [N, H]).
void lstm_backward(const float* w_hh, const float* c0, const float* cell_out,
                   const float* gates_out, const float* grad_hidden, const float* grad_h_last,
                   const float* grad_c_last, const LstmShape& shape, float* grad_gates,
                   float* grad_h0, float* grad_c0);

}  // namespace mlaf
