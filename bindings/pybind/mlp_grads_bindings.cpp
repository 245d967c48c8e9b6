// Glue for native/include/mlaf/mlp_grads.h.
#include <algorithm>
#include <string>
#include <vector>

#include "checks.h"
#include "mlaf/mlp_grads.h"

#include <pybind11/stl.h>

namespace mlaf_py {
namespace {

float* writable(py::array a, const char* func, const char* arg) {
  if (!a.writeable()) fail(func, arg, "a writeable array", "a read-only array");
  return static_cast<float*>(a.mutable_data());
}

}  // namespace

void bind_mlp_grads(py::module_& m) {
  m.def(
      "swish_mlp_forward",
      [](py::handle x, py::handle mean, py::handle variance, float clip,
         const std::vector<py::tuple>& layers, py::handle out) {
        const char* f = "swish_mlp_forward";
        auto input = require(x, f, "x", Kind::kFloat32, {kAny, kAny}, "(B, I)");
        const py::ssize_t rows = input.shape(0), inputs = input.shape(1);
        auto o = require(out, f, "out", Kind::kFloat32, {kAny, rows, kAny}, "(G, B, H)");
        const py::ssize_t groups = o.shape(0), width = o.shape(2);
        if (layers.empty()) fail(f, "layers", "at least one (weight, bias) layer", "none");
        std::vector<py::array> keep;
        std::vector<mlaf::DenseLayer> specs;
        py::ssize_t in = inputs;
        for (const auto& layer : layers) {
          if (layer.size() != 2) fail(f, "layers", "(weight, bias) pairs", "another tuple");
          auto w =
              require(layer[0], f, "weight", Kind::kFloat32, {groups, width, in}, "(G, H, in)");
          auto b = require(layer[1], f, "bias", Kind::kFloat32, {groups, width}, "(G, H)");
          require_disjoint(o, "out", w, "weight", f);
          specs.push_back({static_cast<const float*>(w.data()), static_cast<const float*>(b.data()),
                           static_cast<std::size_t>(in)});
          keep.insert(keep.end(), {w, b});
          in = width;
        }
        const float* mp = nullptr;
        const float* vp = nullptr;
        if (!mean.is_none()) {
          auto mu = require(mean, f, "mean", Kind::kFloat32, {groups, inputs}, "(G, I)");
          auto var = require(variance, f, "variance", Kind::kFloat32, {groups, inputs}, "(G, I)");
          keep.insert(keep.end(), {mu, var});
          mp = static_cast<const float*>(mu.data());
          vp = static_cast<const float*>(var.data());
        }
        require_disjoint(o, "out", input, "x", f);
        float* op = writable(o, f, "out");
        const auto* xp = static_cast<const float*>(input.data());
        std::vector<float> scratch(2 * static_cast<std::size_t>(rows) *
                                   static_cast<std::size_t>(std::max(width, inputs)));
        py::gil_scoped_release release;
        mlaf::swish_mlp_forward(xp, static_cast<std::size_t>(rows),
                                static_cast<std::size_t>(groups), mp, vp, clip, specs.data(),
                                specs.size(), static_cast<std::size_t>(width), op, scratch.data());
      },
      py::arg("x"), py::arg("mean"), py::arg("variance"), py::arg("clip"), py::arg("layers"),
      py::arg("out"),
      "Inference forward of G Swish MLP bodies on one input: out[g] = the body g's features.");

  m.def(
      "heads_forward",
      [](py::handle h, const std::vector<py::tuple>& heads) {
        const char* f = "heads_forward";
        auto input = require(h, f, "h", Kind::kFloat32, {kAny, kAny}, "(B, H)");
        const py::ssize_t rows = input.shape(0), hidden = input.shape(1);
        std::vector<py::array> keep;
        std::vector<mlaf::HeadForward> specs;
        for (const auto& head : heads) {
          if (head.size() != 3) fail(f, "heads", "(weight, bias, out) triples", "another tuple");
          auto w = require(head[0], f, "weight", Kind::kFloat32, {kAny, hidden}, "(O, H)");
          const py::ssize_t outputs = w.shape(0);
          auto b = require(head[1], f, "bias", Kind::kFloat32, {outputs}, "(O,)");
          auto o = require(head[2], f, "out", Kind::kFloat32, {rows, outputs}, "(B, O)");
          require_disjoint(o, "out", input, "h", f);
          specs.push_back({static_cast<const float*>(w.data()), static_cast<const float*>(b.data()),
                           writable(o, f, "out"), static_cast<std::size_t>(outputs)});
          keep.insert(keep.end(), {w, b, o});
        }
        const auto* hp = static_cast<const float*>(input.data());
        py::gil_scoped_release release;
        mlaf::heads_forward(hp, static_cast<std::size_t>(rows), static_cast<std::size_t>(hidden),
                            specs.data(), specs.size());
      },
      py::arg("h"), py::arg("heads"), "Linear heads on one input: out = h W^T + b for each head.");

  m.def(
      "swish_backward",
      [](py::handle sigmoid, py::handle output, py::handle grad, py::handle bias_grad) {
        const char* f = "swish_backward";
        auto s = require(sigmoid, f, "sigmoid", Kind::kFloat32, {kAny, kAny, kAny}, "(G, B, H)");
        const py::ssize_t groups = s.shape(0), rows = s.shape(1), width = s.shape(2);
        auto h = require(output, f, "output", Kind::kFloat32, {groups, rows, width}, "(G, B, H)");
        auto g = require(grad, f, "grad", Kind::kFloat32, {groups, rows, width}, "(G, B, H)");
        auto b = require(bias_grad, f, "bias_grad", Kind::kFloat32, {groups, width}, "(G, H)");
        for (const auto& [in, name] : {std::pair{&s, "sigmoid"}, std::pair{&h, "output"}}) {
          require_disjoint(g, "grad", *in, name, f);
          require_disjoint(b, "bias_grad", *in, name, f);
        }
        require_disjoint(b, "bias_grad", g, "grad", f);
        float* gp = writable(g, f, "grad");
        float* bp = writable(b, f, "bias_grad");
        const auto* sp = static_cast<const float*>(s.data());
        const auto* hp = static_cast<const float*>(h.data());
        py::gil_scoped_release release;
        mlaf::swish_backward(sp, hp, gp, static_cast<std::size_t>(groups),
                             static_cast<std::size_t>(rows), static_cast<std::size_t>(width), bp);
      },
      py::arg("sigmoid"), py::arg("output"), py::arg("grad"), py::arg("bias_grad"),
      "grad *= swish'(z) in place, from sigmoid(z) and swish(z) kept by the forward; bias_grad "
      "= the column sums of each group of the result.");

  m.def(
      "heads_backward",
      [](py::handle h, const std::vector<py::tuple>& heads, py::handle grad_h) {
        const char* f = "heads_backward";
        auto input = require(h, f, "h", Kind::kFloat32, {kAny, kAny}, "(B, H)");
        const py::ssize_t rows = input.shape(0), hidden = input.shape(1);
        auto out = require(grad_h, f, "grad_h", Kind::kFloat32, {rows, hidden}, "(B, H)");
        require_disjoint(out, "grad_h", input, "h", f);
        std::vector<py::array> keep;
        std::vector<mlaf::HeadGrad> specs;
        for (const auto& head : heads) {
          if (head.size() != 4) {
            throw py::value_error(
                std::string(f) +
                "(): each head must be (weight, grad_out, weight_grad, bias_grad); "
                "got a tuple of " +
                std::to_string(head.size()) + ".");
          }
          auto w = require(head[0], f, "weight", Kind::kFloat32, {kAny, hidden}, "(O, H)");
          const py::ssize_t outputs = w.shape(0);
          auto g = require(head[1], f, "grad_out", Kind::kFloat32, {rows, outputs}, "(B, O)");
          auto wg = require(head[2], f, "weight_grad", Kind::kFloat32, {outputs, hidden}, "(O, H)");
          auto bg = require(head[3], f, "bias_grad", Kind::kFloat32, {outputs}, "(O,)");
          for (const py::array* in : {&input, &w, &g}) {
            require_disjoint(wg, "weight_grad", *in, "an input", f);
            require_disjoint(bg, "bias_grad", *in, "an input", f);
            require_disjoint(out, "grad_h", *in, "an input", f);
          }
          mlaf::HeadGrad spec;
          spec.weight = static_cast<const float*>(w.data());
          spec.grad_out = static_cast<const float*>(g.data());
          spec.weight_grad = writable(wg, f, "weight_grad");
          spec.bias_grad = writable(bg, f, "bias_grad");
          spec.outputs = static_cast<std::size_t>(outputs);
          specs.push_back(spec);
          keep.insert(keep.end(), {w, g, wg, bg});
        }
        float* op = writable(out, f, "grad_h");
        const auto* hp = static_cast<const float*>(input.data());
        py::gil_scoped_release release;
        mlaf::heads_backward(hp, static_cast<std::size_t>(rows), static_cast<std::size_t>(hidden),
                             specs.data(), specs.size(), op);
      },
      py::arg("h"), py::arg("heads"), py::arg("grad_h"),
      "Weight and bias gradients of linear heads on a shared input h, and the gradient reaching "
      "h.");

  m.def(
      "wide_linear_backward",
      [](py::handle h, py::handle weight, py::handle grad_out, py::handle weight_grad,
         py::handle bias_grad, py::handle grad_h) {
        const char* f = "wide_linear_backward";
        auto input = require(h, f, "h", Kind::kFloat32, {kAny, kAny}, "(B, H)");
        const py::ssize_t rows = input.shape(0), hidden = input.shape(1);
        auto w = require(weight, f, "weight", Kind::kFloat32, {kAny, hidden}, "(O, H)");
        const py::ssize_t outputs = w.shape(0);
        auto g = require(grad_out, f, "grad_out", Kind::kFloat32, {rows, outputs}, "(B, O)");
        auto wg =
            require(weight_grad, f, "weight_grad", Kind::kFloat32, {outputs, hidden}, "(O, H)");
        auto bg = require(bias_grad, f, "bias_grad", Kind::kFloat32, {outputs}, "(O,)");
        auto gh = require(grad_h, f, "grad_h", Kind::kFloat32, {rows, hidden}, "(B, H)");
        for (const py::array* in : {&input, &w, &g}) {
          require_disjoint(wg, "weight_grad", *in, "an input", f);
          require_disjoint(bg, "bias_grad", *in, "an input", f);
          require_disjoint(gh, "grad_h", *in, "an input", f);
        }
        require_disjoint(wg, "weight_grad", bg, "bias_grad", f);
        require_disjoint(wg, "weight_grad", gh, "grad_h", f);
        require_disjoint(bg, "bias_grad", gh, "grad_h", f);
        float* wgp = writable(wg, f, "weight_grad");
        float* bgp = writable(bg, f, "bias_grad");
        float* ghp = writable(gh, f, "grad_h");
        const auto* hp = static_cast<const float*>(input.data());
        const auto* wp = static_cast<const float*>(w.data());
        const auto* gp = static_cast<const float*>(g.data());
        py::gil_scoped_release release;
        mlaf::wide_linear_backward(hp, wp, gp, static_cast<std::size_t>(rows),
                                   static_cast<std::size_t>(outputs),
                                   static_cast<std::size_t>(hidden), wgp, bgp, ghp);
      },
      py::arg("h"), py::arg("weight"), py::arg("grad_out"), py::arg("weight_grad"),
      py::arg("bias_grad"), py::arg("grad_h"),
      "Backward of h @ weight.T + bias for a few rows: weight_grad += grad_out.T @ h, bias_grad "
      "+= grad_out.sum(0) (both accumulate), grad_h = grad_out @ weight (written).");

  m.def(
      "adam_step",
      [](py::handle param, py::handle grad, py::handle exp_avg, py::handle exp_avg_sq, float lr,
         float beta1, float beta2, float eps, long step) {
        const char* f = "adam_step";
        auto p = require(param, f, "param", Kind::kFloat32, {kAny}, "(P,)");
        const py::ssize_t n = p.shape(0);
        auto g = require(grad, f, "grad", Kind::kFloat32, {n}, "(P,)");
        auto m1 = require(exp_avg, f, "exp_avg", Kind::kFloat32, {n}, "(P,)");
        auto m2 = require(exp_avg_sq, f, "exp_avg_sq", Kind::kFloat32, {n}, "(P,)");
        if (step < 1) {
          throw py::value_error("adam_step(): step counts from 1; got " + std::to_string(step) +
                                ".");
        }
        require_disjoint(p, "param", g, "grad", f);
        require_disjoint(m1, "exp_avg", m2, "exp_avg_sq", f);
        float* pp = writable(p, f, "param");
        float* m1p = writable(m1, f, "exp_avg");
        float* m2p = writable(m2, f, "exp_avg_sq");
        const auto* gp = static_cast<const float*>(g.data());
        py::gil_scoped_release release;
        mlaf::adam_step(pp, gp, m1p, m2p, static_cast<std::size_t>(n), lr, beta1, beta2, eps, step);
      },
      py::arg("param"), py::arg("grad"), py::arg("exp_avg"), py::arg("exp_avg_sq"), py::arg("lr"),
      py::arg("beta1"), py::arg("beta2"), py::arg("eps"), py::arg("step"),
      "torch.optim.Adam's update of flat parameters in one pass (no weight decay).");
}

}  // namespace mlaf_py
