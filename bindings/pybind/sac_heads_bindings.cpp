// Glue for native/include/mlaf/sac_heads.h.
#include <vector>

#include "checks.h"
#include "mlaf/sac_heads.h"

namespace mlaf_py {
namespace {

// Checks every output against every input and the other outputs, then returns its data.
float* out_array(const py::handle& obj, const char* func, const char* arg,
                 const std::vector<py::ssize_t>& dims, const char* label,
                 const std::vector<std::pair<py::array, const char*>>& inputs,
                 std::vector<py::array>& outputs) {
  auto a = require(obj, func, arg, Kind::kFloat32, dims, label);
  if (!a.writeable()) fail(func, arg, "a writeable array", "a read-only array");
  for (const auto& [in, name] : inputs) require_disjoint(a, arg, in, name, func);
  for (const auto& other : outputs) require_disjoint(a, arg, other, "another output", func);
  outputs.push_back(a);
  return static_cast<float*>(a.mutable_data());
}

const float* data(const py::array& a) { return static_cast<const float*>(a.data()); }

}  // namespace

void bind_sac_heads(py::module_& m) {
  m.def(
      "sac_squash_forward",
      [](py::handle mu, py::handle raw_log_sigma, py::handle noise, py::handle action,
         py::handle log_prob_sums) {
        const char* f = "sac_squash_forward";
        auto m_ = require(mu, f, "mu", Kind::kFloat32, {kAny, kAny}, "(B, C)");
        const py::ssize_t rows = m_.shape(0), dims = m_.shape(1);
        auto r = require(raw_log_sigma, f, "raw_log_sigma", Kind::kFloat32, {rows, dims}, "(B, C)");
        auto n = require(noise, f, "noise", Kind::kFloat32, {rows, dims}, "(B, C)");
        const std::vector<std::pair<py::array, const char*>> ins = {
            {m_, "mu"}, {r, "raw_log_sigma"}, {n, "noise"}};
        std::vector<py::array> outs;
        float* a = out_array(action, f, "action", {rows, dims}, "(B, C)", ins, outs);
        float* lp = out_array(log_prob_sums, f, "log_prob_sums", {rows}, "(B,)", ins, outs);
        py::gil_scoped_release release;
        mlaf::sac_squash_forward(static_cast<std::size_t>(rows), static_cast<std::size_t>(dims),
                                 data(m_), data(r), data(n), a, lp);
      },
      py::arg("mu"), py::arg("raw_log_sigma"), py::arg("noise"), py::arg("action"),
      py::arg("log_prob_sums"),
      "SAC's squashed-Gaussian head: the actions tanh(mu + noise sigma) and each row's summed "
      "log-probability.");

  m.def(
      "sac_squash_backward",
      [](py::handle mu, py::handle raw_log_sigma, py::handle noise, py::handle grad_action,
         float grad_log_prob, py::handle grad_mu, py::handle grad_raw_log_sigma) {
        const char* f = "sac_squash_backward";
        auto m_ = require(mu, f, "mu", Kind::kFloat32, {kAny, kAny}, "(B, C)");
        const py::ssize_t rows = m_.shape(0), dims = m_.shape(1);
        auto r = require(raw_log_sigma, f, "raw_log_sigma", Kind::kFloat32, {rows, dims}, "(B, C)");
        auto n = require(noise, f, "noise", Kind::kFloat32, {rows, dims}, "(B, C)");
        auto g = require(grad_action, f, "grad_action", Kind::kFloat32, {rows, dims}, "(B, C)");
        const std::vector<std::pair<py::array, const char*>> ins = {
            {m_, "mu"}, {r, "raw_log_sigma"}, {n, "noise"}, {g, "grad_action"}};
        std::vector<py::array> outs;
        float* gm = out_array(grad_mu, f, "grad_mu", {rows, dims}, "(B, C)", ins, outs);
        float* gr = out_array(grad_raw_log_sigma, f, "grad_raw_log_sigma", {rows, dims}, "(B, C)",
                              ins, outs);
        py::gil_scoped_release release;
        mlaf::sac_squash_backward(static_cast<std::size_t>(rows), static_cast<std::size_t>(dims),
                                  data(m_), data(r), data(n), data(g), grad_log_prob, gm, gr);
      },
      py::arg("mu"), py::arg("raw_log_sigma"), py::arg("noise"), py::arg("grad_action"),
      py::arg("grad_log_prob"), py::arg("grad_mu"), py::arg("grad_raw_log_sigma"),
      "The squashed-Gaussian head's backward: d loss / d mu and d loss / d raw log sigma.");

  m.def(
      "sac_losses",
      [](py::handle q, py::handle values, py::handle next_values, py::handle rewards,
         py::handle done, py::handle gammas, py::handle log_prob_sums, float alpha,
         float target_entropy, py::handle grad_q, py::handle grad_values) {
        const char* f = "sac_losses";
        auto v = require(values, f, "values", Kind::kFloat32, {kAny, kAny}, "(B, S)");
        const py::ssize_t rows = v.shape(0), signals = v.shape(1);
        if (signals < 1) fail(f, "values", "at least one reward signal (S >= 1)", "S = 0");
        auto q_ = require(q, f, "q", Kind::kFloat32, {2, 2 * rows, signals}, "(2, 2B, S)");
        auto nv = require(next_values, f, "next_values", Kind::kFloat32, {rows, signals}, "(B, S)");
        auto r = require(rewards, f, "rewards", Kind::kFloat32, {signals, rows}, "(S, B)");
        auto d = require(done, f, "done", Kind::kFloat32, {rows}, "(B,)");
        auto g = require(gammas, f, "gammas", Kind::kFloat32, {signals}, "(S,)");
        auto lp = require(log_prob_sums, f, "log_prob_sums", Kind::kFloat32, {rows}, "(B,)");
        const std::vector<std::pair<py::array, const char*>> ins = {
            {q_, "q"},   {v, "values"}, {nv, "next_values"},  {r, "rewards"},
            {d, "done"}, {g, "gammas"}, {lp, "log_prob_sums"}};
        std::vector<py::array> outs;
        float* gq = out_array(grad_q, f, "grad_q", {2, 2 * rows, signals}, "(2, 2B, S)", ins, outs);
        float* gv = out_array(grad_values, f, "grad_values", {rows, signals}, "(B, S)", ins, outs);
        mlaf::SACLossInputs in;
        in.q = data(q_);
        in.values = data(v);
        in.next_values = data(nv);
        in.rewards = data(r);
        in.done = data(d);
        in.gammas = data(g);
        in.log_prob_sums = data(lp);
        in.alpha = alpha;
        in.target_entropy = target_entropy;
        mlaf::SACLosses losses;
        {
          py::gil_scoped_release release;
          losses = mlaf::sac_losses(static_cast<std::size_t>(rows),
                                    static_cast<std::size_t>(signals), in, gq, gv);
        }
        return py::make_tuple(losses.policy, losses.value, losses.q1, losses.q2,
                              losses.grad_log_alpha);
      },
      py::arg("q"), py::arg("values"), py::arg("next_values"), py::arg("rewards"), py::arg("done"),
      py::arg("gammas"), py::arg("log_prob_sums"), py::arg("alpha"), py::arg("target_entropy"),
      py::arg("grad_q"), py::arg("grad_values"),
      "SAC's four losses and their gradients; returns (policy, value, Q1, Q2 losses, "
      "d entropy loss / d log alpha).");
}

}  // namespace mlaf_py
