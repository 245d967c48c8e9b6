#include "mlaf/lstm.h"

#include <cstring>

#include "mlaf/fast_math.h"
#include "mlaf/simd.h"

namespace mlaf {
namespace {

// (GCC warns that passing a 64-byte vector by value has another ABI without AVX-512; these
// helpers are always inlined, so no call, and no ABI, is involved.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

// Sixteen floats as one value: GCC's vector extension, so that a block of sums is held in
// registers in every clone (one AVX-512 register, two AVX2 ones, four SSE ones).
typedef float Lanes __attribute__((vector_size(64)));
constexpr std::size_t kLanes = 16, kBlock = 4 * kLanes;  // columns summed together

MLAF_ALWAYS_INLINE Lanes load(const float* p) {
  Lanes v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

MLAF_ALWAYS_INLINE void store(float* p, Lanes v) { std::memcpy(p, &v, sizeof v); }

// out[j] += sum_k v[k] m[k * width + j] for j < width (m row-major [count, width]): blocks of
// kBlock columns whose sums stay in registers while k runs, rather than a pass over out per k;
// even and odd k into separate sums, so that the additions form twice as many shorter chains.
MLAF_ALWAYS_INLINE void add_vector_times_rows(const float* __restrict v, const float* __restrict m,
                                              std::size_t count, std::size_t width,
                                              float* __restrict out) {
  std::size_t j0 = 0;
  for (; j0 + kBlock <= width; j0 += kBlock) {
    Lanes a0 = load(out + j0), a1 = load(out + j0 + kLanes);
    Lanes a2 = load(out + j0 + 2 * kLanes), a3 = load(out + j0 + 3 * kLanes);
    Lanes b0 = {}, b1 = {}, b2 = {}, b3 = {};
    std::size_t k = 0;
    for (; k + 2 <= count; k += 2) {
      const float vk = v[k], vn = v[k + 1];
      const float* row = m + k * width + j0;
      const float* next = row + width;
      a0 += vk * load(row);
      a1 += vk * load(row + kLanes);
      a2 += vk * load(row + 2 * kLanes);
      a3 += vk * load(row + 3 * kLanes);
      b0 += vn * load(next);
      b1 += vn * load(next + kLanes);
      b2 += vn * load(next + 2 * kLanes);
      b3 += vn * load(next + 3 * kLanes);
    }
    if (k < count) {
      const float vk = v[k];
      const float* row = m + k * width + j0;
      a0 += vk * load(row);
      a1 += vk * load(row + kLanes);
      a2 += vk * load(row + 2 * kLanes);
      a3 += vk * load(row + 3 * kLanes);
    }
    store(out + j0, a0 + b0);
    store(out + j0 + kLanes, a1 + b1);
    store(out + j0 + 2 * kLanes, a2 + b2);
    store(out + j0 + 3 * kLanes, a3 + b3);
  }
  for (; j0 < width; ++j0) {
    float sum = out[j0];
    for (std::size_t k = 0; k < count; ++k) sum += v[k] * m[k * width + j0];
    out[j0] = sum;
  }
}

// The new cell and hidden state from the activated gates z = (i, f, g, o).
MLAF_ALWAYS_INLINE void cell_step(const float* __restrict z, const float* __restrict c_prev,
                                  std::size_t hidden, float* __restrict c, float* __restrict h) {
  const float *i = z, *f = z + hidden, *g = z + 2 * hidden, *o = z + 3 * hidden;
  for (std::size_t k = 0; k < hidden; ++k) c[k] = f[k] * c_prev[k] + i[k] * g[k];
  for (std::size_t k = 0; k < hidden; ++k) h[k] = o[k] * tanh_approx(c[k]);
}

MLAF_SIMD_CLONES void forward_impl(const float* input_gates, const float* w_hh_t, const float* h0,
                                   const float* c0, std::size_t sequences, std::size_t steps,
                                   std::size_t hidden, float* hidden_out, float* cell_out,
                                   float* gates_out) {
  const std::size_t width = 4 * hidden;
  for (std::size_t n = 0; n < sequences; ++n) {
    const float* h_prev = h0 + n * hidden;
    const float* c_prev = c0 + n * hidden;
    for (std::size_t t = 0; t < steps; ++t) {
      const std::size_t row = n * steps + t;
      float* __restrict z = gates_out + row * width;
      std::memcpy(z, input_gates + row * width, width * sizeof(float));
      add_vector_times_rows(h_prev, w_hh_t, hidden, width, z);  // W_hh h: rows of W_hh^T
      for (std::size_t j = 0; j < 2 * hidden; ++j) z[j] = sigmoid_approx(z[j]);        // i, f
      for (std::size_t j = 2 * hidden; j < 3 * hidden; ++j) z[j] = tanh_approx(z[j]);  // g
      for (std::size_t j = 3 * hidden; j < width; ++j) z[j] = sigmoid_approx(z[j]);    // o
      float* c = cell_out + row * hidden;
      float* h = hidden_out + row * hidden;
      cell_step(z, c_prev, hidden, c, h);
      h_prev = h;
      c_prev = c;
    }
  }
}

// One step back through the gates: from d loss / d h_t (this step's output's gradient dh_out
// plus dh_next, what step t + 1 sent back) and dc_next, writes the pre-activation gradients dz
// and leaves d loss / d c_{t-1} in dc_next.
MLAF_ALWAYS_INLINE void gates_step_back(const float* __restrict z, const float* __restrict c,
                                        const float* __restrict c_prev,
                                        const float* __restrict dh_out, std::size_t hidden,
                                        const float* __restrict dh_next, float* __restrict dc_next,
                                        float* __restrict dz) {
  const float *i = z, *f = z + hidden, *g = z + 2 * hidden, *o = z + 3 * hidden;
  float *di = dz, *df = dz + hidden, *dg = dz + 2 * hidden, *d_o = dz + 3 * hidden;
  for (std::size_t k = 0; k < hidden; ++k) {
    const float dh = dh_out[k] + dh_next[k];
    const float tc = tanh_approx(c[k]);
    const float dc = dc_next[k] + dh * o[k] * (1.0f - tc * tc);
    d_o[k] = dh * tc * o[k] * (1.0f - o[k]);
    di[k] = dc * g[k] * i[k] * (1.0f - i[k]);
    dg[k] = dc * i[k] * (1.0f - g[k] * g[k]);
    df[k] = dc * c_prev[k] * f[k] * (1.0f - f[k]);
    dc_next[k] = dc * f[k];
  }
}

MLAF_SIMD_CLONES void backward_impl(const float* w_hh, const float* c0, const float* cell_out,
                                    const float* gates_out, const float* grad_hidden,
                                    const float* grad_h_last, const float* grad_c_last,
                                    std::size_t sequences, std::size_t steps, std::size_t hidden,
                                    float* grad_gates, float* grad_h0, float* grad_c0) {
  const std::size_t width = 4 * hidden;
  for (std::size_t n = 0; n < sequences; ++n) {
    // dh and dc carried back from step t + 1 (from the final state's gradient at the end).
    float* __restrict dh_next = grad_h0 + n * hidden;
    float* __restrict dc_next = grad_c0 + n * hidden;
    for (std::size_t k = 0; k < hidden; ++k) {
      dh_next[k] = grad_h_last != nullptr ? grad_h_last[n * hidden + k] : 0.0f;
      dc_next[k] = grad_c_last != nullptr ? grad_c_last[n * hidden + k] : 0.0f;
    }
    for (std::size_t t = steps; t-- > 0;) {
      const std::size_t row = n * steps + t;
      const float* z = gates_out + row * width;
      const float* c = cell_out + row * hidden;
      const float* c_prev = t > 0 ? cell_out + (row - 1) * hidden : c0 + n * hidden;
      const float* dh_out = grad_hidden + row * hidden;
      float* dz = grad_gates + row * width;
      gates_step_back(z, c, c_prev, dh_out, hidden, dh_next, dc_next, dz);
      // dh_{t-1} = W_hh^T dz: the rows of W_hh [4H, H] scaled by dz's entries.
      for (std::size_t k = 0; k < hidden; ++k) dh_next[k] = 0.0f;
      add_vector_times_rows(dz, w_hh, width, hidden, dh_next);
    }
  }
}

}  // namespace

void lstm_forward(const float* input_gates, const float* w_hh_t, const float* h0, const float* c0,
                  const LstmShape& shape, float* hidden_out, float* cell_out, float* gates_out) {
  forward_impl(input_gates, w_hh_t, h0, c0, shape.sequences, shape.steps, shape.hidden, hidden_out,
               cell_out, gates_out);
}

void lstm_backward(const float* w_hh, const float* c0, const float* cell_out,
                   const float* gates_out, const float* grad_hidden, const float* grad_h_last,
                   const float* grad_c_last, const LstmShape& shape, float* grad_gates,
                   float* grad_h0, float* grad_c0) {
  backward_impl(w_hh, c0, cell_out, gates_out, grad_hidden, grad_h_last, grad_c_last,
                shape.sequences, shape.steps, shape.hidden, grad_gates, grad_h0, grad_c0);
}

}  // namespace mlaf
