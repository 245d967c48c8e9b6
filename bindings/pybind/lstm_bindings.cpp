// Glue for native/include/mlaf/lstm.h.
#include <utility>
#include <vector>

#include "checks.h"
#include "mlaf/lstm.h"

namespace mlaf_py {
namespace {

float* writable_floats(py::array a, const char* func, const char* arg) {
  if (!a.writeable()) fail(func, arg, "a writeable array", "a read-only array");
  return static_cast<float*>(a.mutable_data());
}

const float* floats(const py::array& a) { return static_cast<const float*>(a.data()); }

using Named = std::pair<const py::array*, const char*>;

// No output shares memory with an input or with another output.
void require_apart(const std::vector<Named>& outs, const std::vector<Named>& ins, const char* f) {
  for (std::size_t a = 0; a < outs.size(); ++a) {
    for (const auto& [in, name] : ins)
      require_disjoint(*outs[a].first, outs[a].second, *in, name, f);
    for (std::size_t b = a + 1; b < outs.size(); ++b) {
      require_disjoint(*outs[a].first, outs[a].second, *outs[b].first, outs[b].second, f);
    }
  }
}

}  // namespace

void bind_lstm(py::module_& m) {
  m.def(
      "lstm_forward",
      [](py::handle input_gates, py::handle w_hh_t, py::handle h0, py::handle c0, py::handle hidden,
         py::handle cell, py::handle gates) {
        const char* f = "lstm_forward";
        auto x = require(input_gates, f, "input_gates", Kind::kFloat32, {kAny, kAny, kAny},
                         "(N, T, 4H)");
        const py::ssize_t n = x.shape(0), t = x.shape(1), width = x.shape(2);
        if (width % 4 != 0 || width == 0) fail(f, "input_gates", "(N, T, 4H)", describe(x));
        const py::ssize_t h = width / 4;
        auto w = require(w_hh_t, f, "w_hh_t", Kind::kFloat32, {h, width}, "(H, 4H)");
        auto h_init = require(h0, f, "h0", Kind::kFloat32, {n, h}, "(N, H)");
        auto c_init = require(c0, f, "c0", Kind::kFloat32, {n, h}, "(N, H)");
        auto h_out = require(hidden, f, "hidden", Kind::kFloat32, {n, t, h}, "(N, T, H)");
        auto c_out = require(cell, f, "cell", Kind::kFloat32, {n, t, h}, "(N, T, H)");
        auto g_out = require(gates, f, "gates", Kind::kFloat32, {n, t, width}, "(N, T, 4H)");
        require_apart({{&h_out, "hidden"}, {&c_out, "cell"}, {&g_out, "gates"}},
                      {{&x, "input_gates"}, {&w, "w_hh_t"}, {&h_init, "h0"}, {&c_init, "c0"}}, f);
        float* hp = writable_floats(h_out, f, "hidden");
        float* cp = writable_floats(c_out, f, "cell");
        float* gp = writable_floats(g_out, f, "gates");
        const mlaf::LstmShape shape{static_cast<std::size_t>(n), static_cast<std::size_t>(t),
                                    static_cast<std::size_t>(h)};
        py::gil_scoped_release release;
        mlaf::lstm_forward(floats(x), floats(w), floats(h_init), floats(c_init), shape, hp, cp, gp);
      },
      py::arg("input_gates"), py::arg("w_hh_t"), py::arg("h0"), py::arg("c0"), py::arg("hidden"),
      py::arg("cell"), py::arg("gates"),
      "The LSTM recurrence over N sequences of T steps from input_gates = x W_ih^T + b_ih + b_hh "
      "and w_hh_t = W_hh^T: "
      "writes every step's hidden and cell state and its activated gates (i, f, g, o).");

  m.def(
      "lstm_backward",
      [](py::handle w_hh, py::handle c0, py::handle cell, py::handle gates, py::handle grad_hidden,
         py::handle grad_h_last, py::handle grad_c_last, py::handle grad_gates, py::handle grad_h0,
         py::handle grad_c0) {
        const char* f = "lstm_backward";
        auto g = require(gates, f, "gates", Kind::kFloat32, {kAny, kAny, kAny}, "(N, T, 4H)");
        const py::ssize_t n = g.shape(0), t = g.shape(1), width = g.shape(2);
        if (width % 4 != 0 || width == 0) fail(f, "gates", "(N, T, 4H)", describe(g));
        const py::ssize_t h = width / 4;
        auto w = require(w_hh, f, "w_hh", Kind::kFloat32, {width, h}, "(4H, H)");
        auto c_init = require(c0, f, "c0", Kind::kFloat32, {n, h}, "(N, H)");
        auto c = require(cell, f, "cell", Kind::kFloat32, {n, t, h}, "(N, T, H)");
        auto dh = require(grad_hidden, f, "grad_hidden", Kind::kFloat32, {n, t, h}, "(N, T, H)");
        std::vector<py::array> ins = {w, c_init, c, g, dh};
        const float* dh_last = nullptr;
        const float* dc_last = nullptr;
        if (!grad_h_last.is_none()) {
          auto a = require(grad_h_last, f, "grad_h_last", Kind::kFloat32, {n, h}, "(N, H)");
          ins.push_back(a);
          dh_last = floats(a);
        }
        if (!grad_c_last.is_none()) {
          auto a = require(grad_c_last, f, "grad_c_last", Kind::kFloat32, {n, h}, "(N, H)");
          ins.push_back(a);
          dc_last = floats(a);
        }
        auto dz = require(grad_gates, f, "grad_gates", Kind::kFloat32, {n, t, width}, "(N, T, 4H)");
        auto dh0 = require(grad_h0, f, "grad_h0", Kind::kFloat32, {n, h}, "(N, H)");
        auto dc0 = require(grad_c0, f, "grad_c0", Kind::kFloat32, {n, h}, "(N, H)");
        std::vector<Named> inputs;
        for (const auto& in : ins) inputs.emplace_back(&in, "an input");
        require_apart({{&dz, "grad_gates"}, {&dh0, "grad_h0"}, {&dc0, "grad_c0"}}, inputs, f);
        float* dzp = writable_floats(dz, f, "grad_gates");
        float* dh0p = writable_floats(dh0, f, "grad_h0");
        float* dc0p = writable_floats(dc0, f, "grad_c0");
        const mlaf::LstmShape shape{static_cast<std::size_t>(n), static_cast<std::size_t>(t),
                                    static_cast<std::size_t>(h)};
        py::gil_scoped_release release;
        mlaf::lstm_backward(floats(w), floats(c_init), floats(c), floats(g), floats(dh), dh_last,
                            dc_last, shape, dzp, dh0p, dc0p);
      },
      py::arg("w_hh"), py::arg("c0"), py::arg("cell"), py::arg("gates"), py::arg("grad_hidden"),
      py::arg("grad_h_last"), py::arg("grad_c_last"), py::arg("grad_gates"), py::arg("grad_h0"),
      py::arg("grad_c0"),
      "Back through the LSTM recurrence: d loss / d gate pre-activations for every step, and d "
      "loss / d (h0, c0), from what lstm_forward kept and the gradients of its outputs.");
}

}  // namespace mlaf_py
