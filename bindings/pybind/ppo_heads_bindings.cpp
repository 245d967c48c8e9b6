// Glue for native/include/mlaf/ppo_heads.h.
#include <string>
#include <vector>

#include "checks.h"
#include "mlaf/ppo_heads.h"

#include <pybind11/stl.h>

namespace mlaf_py {
namespace {

constexpr const char* kFunc = "ppo_head_loss";
constexpr const char* kSample = "ppo_head_sample";

template <typename T>
const T* input(const py::handle& obj, const char* arg, Kind kind,
               const std::vector<py::ssize_t>& dims, const char* label,
               std::vector<py::array>& seen, std::vector<const char*>& names,
               const char* func = kFunc) {
  auto a = require(obj, func, arg, kind, dims, label);
  seen.push_back(a);
  names.push_back(arg);
  return static_cast<const T*>(a.data());
}

template <typename T = float>
T* output(const py::handle& obj, const char* arg, const std::vector<py::ssize_t>& dims,
          const char* label, const std::vector<py::array>& inputs,
          const std::vector<const char*>& input_names, std::vector<py::array>& outputs,
          const char* func = kFunc, Kind kind = Kind::kFloat32) {
  auto a = require(obj, func, arg, kind, dims, label);
  if (!a.writeable()) fail(func, arg, "a writeable array", "a read-only array");
  for (std::size_t i = 0; i < inputs.size(); ++i)
    require_disjoint(a, arg, inputs[i], input_names[i], func);
  for (const auto& other : outputs) require_disjoint(a, arg, other, "another output", func);
  outputs.push_back(a);
  return static_cast<T*>(a.mutable_data());
}

// Branch sizes: each at least 1; returns their sum (the logits' width).
py::ssize_t logits_width(const std::vector<std::int64_t>& branches, const char* func) {
  py::ssize_t width = 0;
  for (std::size_t k = 0; k < branches.size(); ++k) {
    if (branches[k] < 1) {
      throw py::value_error(std::string(func) + "(): branches[" + std::to_string(k) +
                            "] must be at least 1; got " + std::to_string(branches[k]) + ".");
    }
    width += branches[k];
  }
  return width;
}

}  // namespace

void bind_ppo_heads(py::module_& m) {
  m.def(
      "ppo_head_loss",
      [](py::handle mu, py::handle log_sigma, py::handle continuous, py::handle logits,
         py::handle action_mask, py::handle discrete, std::vector<std::int64_t> branches,
         py::handle old_log_probs, py::handle advantages, py::handle values, py::handle old_values,
         py::handle returns, float epsilon, float beta, py::handle grad_mu,
         py::handle grad_log_sigma, py::handle grad_logits, py::handle grad_values) {
        std::vector<py::array> ins, outs;
        std::vector<const char*> names;
        mlaf::PPOHeadShape shape;
        mlaf::PPOHeadInputs in;
        mlaf::PPOHeadGrads grads;
        in.advantages =
            input<float>(advantages, "advantages", Kind::kFloat32, {kAny}, "(B,)", ins, names);
        const py::ssize_t rows = ins.back().shape(0);
        in.values =
            input<float>(values, "values", Kind::kFloat32, {rows, kAny}, "(B, S)", ins, names);
        const py::ssize_t signals = ins.back().shape(1);
        if (signals < 1) fail(kFunc, "values", "at least one value head (S >= 1)", "S = 0");
        in.old_values = input<float>(old_values, "old_values", Kind::kFloat32, {signals, rows},
                                     "(S, B)", ins, names);
        in.returns =
            input<float>(returns, "returns", Kind::kFloat32, {signals, rows}, "(S, B)", ins, names);
        py::ssize_t c_size = 0;
        if (!mu.is_none()) {
          in.mu = input<float>(mu, "mu", Kind::kFloat32, {rows, kAny}, "(B, C)", ins, names);
          c_size = ins.back().shape(1);
          in.log_sigma = input<float>(log_sigma, "log_sigma", Kind::kFloat32, {1, c_size}, "(1, C)",
                                      ins, names);
          in.continuous = input<float>(continuous, "continuous", Kind::kFloat32, {rows, c_size},
                                       "(B, C)", ins, names);
        }
        const py::ssize_t d_size = static_cast<py::ssize_t>(branches.size());
        const py::ssize_t width = logits_width(branches, kFunc);
        if (c_size + d_size == 0) {
          throw py::value_error(std::string(kFunc) +
                                "(): no action dimensions: pass 'mu' (continuous) or 'branches'.");
        }
        if (d_size) {
          in.logits =
              input<float>(logits, "logits", Kind::kFloat32, {rows, width}, "(B, L)", ins, names);
          if (!action_mask.is_none()) {
            in.blocked = input<std::uint8_t>(action_mask, "action_mask", Kind::kFlag, {rows, width},
                                             "(B, L)", ins, names);
          }
          in.discrete = input<std::int32_t>(discrete, "discrete", Kind::kInt32, {rows, d_size},
                                            "(B, D)", ins, names);
          for (py::ssize_t b = 0; b < rows; ++b) {
            for (py::ssize_t k = 0; k < d_size; ++k) {
              const std::int32_t choice = in.discrete[b * d_size + k];
              if (choice < 0 || choice >= branches[static_cast<std::size_t>(k)]) {
                throw py::value_error(std::string(kFunc) + "(): discrete[" + std::to_string(b) +
                                      ", " + std::to_string(k) + "] = " + std::to_string(choice) +
                                      " is not a choice of a branch of size " +
                                      std::to_string(branches[static_cast<std::size_t>(k)]) + ".");
              }
            }
          }
        }
        in.old_log_probs = input<float>(old_log_probs, "old_log_probs", Kind::kFloat32,
                                        {rows, c_size + d_size}, "(B, C + D)", ins, names);
        grads.values =
            output(grad_values, "grad_values", {rows, signals}, "(B, S)", ins, names, outs);
        if (c_size) {
          grads.mu = output(grad_mu, "grad_mu", {rows, c_size}, "(B, C)", ins, names, outs);
          grads.log_sigma =
              output(grad_log_sigma, "grad_log_sigma", {1, c_size}, "(1, C)", ins, names, outs);
        }
        if (d_size) {
          grads.logits =
              output(grad_logits, "grad_logits", {rows, width}, "(B, L)", ins, names, outs);
        }
        shape.rows = static_cast<std::size_t>(rows);
        shape.continuous = static_cast<std::size_t>(c_size);
        shape.branches = branches.data();
        shape.num_branches = static_cast<std::size_t>(d_size);
        shape.logits_width = static_cast<std::size_t>(width);
        shape.signals = static_cast<std::size_t>(signals);
        mlaf::PPOLosses losses;
        {
          py::gil_scoped_release release;
          losses = mlaf::ppo_head_loss(shape, in, epsilon, beta, grads);
        }
        return py::make_tuple(losses.policy, losses.value, losses.entropy);
      },
      py::arg("mu"), py::arg("log_sigma"), py::arg("continuous"), py::arg("logits"),
      py::arg("action_mask"), py::arg("discrete"), py::arg("branches"), py::arg("old_log_probs"),
      py::arg("advantages"), py::arg("values"), py::arg("old_values"), py::arg("returns"),
      py::arg("epsilon"), py::arg("beta"), py::arg("grad_mu"), py::arg("grad_log_sigma"),
      py::arg("grad_logits"), py::arg("grad_values"),
      "ML-Agents' PPO loss over the action and value heads of a minibatch: writes d loss / d "
      "(mu, log_sigma, logits, values) and returns (policy_loss, value_loss, mean entropy).");

  m.def(
      "ppo_head_sample",
      [](py::handle mu, py::handle log_sigma, py::handle normals, py::handle logits,
         py::handle action_mask, py::handle uniforms, std::vector<std::int64_t> branches,
         bool deterministic, py::handle continuous, py::handle discrete, py::handle log_probs,
         py::handle entropy) {
        const char* f = kSample;
        std::vector<py::array> ins, outs;
        std::vector<const char*> names;
        mlaf::PPOHeadShape shape;
        mlaf::PPOSampleInputs in;
        mlaf::PPOSampleOutputs out;
        out.entropy = output(entropy, "entropy", {kAny}, "(B,)", ins, names, outs, f);
        const py::ssize_t rows = outs.back().shape(0);
        py::ssize_t c_size = 0;
        if (!mu.is_none()) {
          in.mu = input<float>(mu, "mu", Kind::kFloat32, {rows, kAny}, "(B, C)", ins, names, f);
          c_size = ins.back().shape(1);
          in.log_sigma = input<float>(log_sigma, "log_sigma", Kind::kFloat32, {1, c_size}, "(1, C)",
                                      ins, names, f);
          if (!deterministic) {
            in.normals = input<float>(normals, "normals", Kind::kFloat32, {rows, c_size}, "(B, C)",
                                      ins, names, f);
          }
        }
        const py::ssize_t d_size = static_cast<py::ssize_t>(branches.size());
        const py::ssize_t width = logits_width(branches, f);
        if (c_size + d_size == 0) {
          throw py::value_error(std::string(f) +
                                "(): no action dimensions: pass 'mu' (continuous) or 'branches'.");
        }
        if (d_size) {
          in.logits = input<float>(logits, "logits", Kind::kFloat32, {rows, width}, "(B, L)", ins,
                                   names, f);
          if (!action_mask.is_none()) {
            in.blocked = input<std::uint8_t>(action_mask, "action_mask", Kind::kFlag, {rows, width},
                                             "(B, L)", ins, names, f);
          }
          if (!deterministic) {
            in.uniforms = input<float>(uniforms, "uniforms", Kind::kFloat32, {rows, d_size},
                                       "(B, D)", ins, names, f);
          }
        }
        out.continuous =
            c_size ? output(continuous, "continuous", {rows, c_size}, "(B, C)", ins, names, outs, f)
                   : nullptr;
        out.discrete = d_size ? output<std::int32_t>(discrete, "discrete", {rows, d_size}, "(B, D)",
                                                     ins, names, outs, f, Kind::kInt32)
                              : nullptr;
        out.log_probs = output(log_probs, "log_probs", {rows, c_size + d_size}, "(B, C + D)", ins,
                               names, outs, f);
        shape.rows = static_cast<std::size_t>(rows);
        shape.continuous = static_cast<std::size_t>(c_size);
        shape.branches = branches.data();
        shape.num_branches = static_cast<std::size_t>(d_size);
        shape.logits_width = static_cast<std::size_t>(width);
        py::gil_scoped_release release;
        return mlaf::ppo_head_sample(shape, in, deterministic, out);
      },
      py::arg("mu"), py::arg("log_sigma"), py::arg("normals"), py::arg("logits"),
      py::arg("action_mask"), py::arg("uniforms"), py::arg("branches"), py::arg("deterministic"),
      py::arg("continuous"), py::arg("discrete"), py::arg("log_probs"), py::arg("entropy"),
      "Actions from the PPO heads: samples (or the most likely ones), their log-probabilities "
      "per action dimension and the entropy of each row; returns the mean entropy.");
}

}  // namespace mlaf_py
