// Glue for native/include/mlaf/gae.h.
#include <initializer_list>
#include <string>
#include <vector>

#include "checks.h"
#include "mlaf/gae.h"

namespace mlaf_py {
namespace {

struct Rollout {
  mlaf::RolloutShape shape{};
  mlaf::RolloutInputs inputs{};
  py::array gammas;
  float single_gamma = 0.0f;  // a Python float given for a single signal
  const float* gamma_ptr = nullptr;
  bool single = false;  // [T, N] arrays: one signal, no leading S dimension
};

// Shape of a per-signal array: (S, T, N), or (T, N) for a single-signal call.
std::vector<py::ssize_t> per_signal(const Rollout& ro, std::initializer_list<py::ssize_t> rest) {
  std::vector<py::ssize_t> dims;
  if (!ro.single) dims.push_back(static_cast<py::ssize_t>(ro.shape.signals));
  dims.insert(dims.end(), rest);
  return dims;
}

// Checks every input of gae()/discounted_returns() and returns raw views.
// rewards of shape (T, N) make a single-signal call: every per-signal array
// then drops its leading S dimension, and gammas may be a Python float.
Rollout check_rollout(const char* func, const py::handle& rewards, const py::handle& values,
                      const py::handle& terminated, const py::handle& truncated,
                      const py::handle& bootstrap, const py::handle& truncated_values,
                      const py::handle& gammas, bool needs_values) {
  Rollout out;
  out.single =
      py::isinstance<py::array>(rewards) && py::reinterpret_borrow<py::array>(rewards).ndim() == 2;
  const char* sig = out.single ? "(T, N)" : "(S, T, N)";
  auto r = out.single ? require(rewards, func, "rewards", Kind::kFloat32, {kAny, kAny}, sig)
                      : require(rewards, func, "rewards", Kind::kFloat32, {kAny, kAny, kAny}, sig);
  const py::ssize_t s = out.single ? 1 : r.shape(0);
  const py::ssize_t t = r.shape(out.single ? 0 : 1), n = r.shape(out.single ? 1 : 2);
  out.shape = {static_cast<std::size_t>(s), static_cast<std::size_t>(t),
               static_cast<std::size_t>(n)};
  out.inputs.rewards = static_cast<const float*>(r.data());
  if (needs_values) {
    out.inputs.values = static_cast<const float*>(
        require(values, func, "values", Kind::kFloat32, per_signal(out, {t, n}), sig).data());
  }
  auto term = require(terminated, func, "terminated", Kind::kFlag, {t, n}, "(T, N)");
  auto trunc = require(truncated, func, "truncated", Kind::kFlag, {t, n}, "(T, N)");
  out.inputs.terminated = static_cast<const std::uint8_t*>(term.data());
  out.inputs.truncated = static_cast<const std::uint8_t*>(trunc.data());
  out.inputs.bootstrap =
      static_cast<const float*>(require(bootstrap, func, "bootstrap_values", Kind::kFloat32,
                                        per_signal(out, {n}), out.single ? "(N,)" : "(S, N)")
                                    .data());
  if (!truncated_values.is_none()) {
    out.inputs.truncated_values =
        static_cast<const float*>(require(truncated_values, func, "truncated_values",
                                          Kind::kFloat32, per_signal(out, {t, n}), sig)
                                      .data());
  } else {
    if (mlaf::any_flag_set(out.inputs.truncated, static_cast<std::size_t>(t * n))) {
      throw py::value_error(std::string(func) +
                            "(): 'truncated' marks interrupted episodes, which bootstrap from "
                            "the value of their final observation, but 'truncated_values' "
                            "was not given; pass the " +
                            sig + " float32 values of those final observations.");
    }
  }
  if (out.single && PyFloat_Check(gammas.ptr())) {
    out.single_gamma = static_cast<float>(PyFloat_AS_DOUBLE(gammas.ptr()));
    out.gamma_ptr = &out.single_gamma;
  } else {
    out.gammas = require(gammas, func, "gammas", Kind::kFloat32, {s}, "(S,)");
    out.gamma_ptr = static_cast<const float*>(out.gammas.data());
  }
  for (py::ssize_t i = 0; i < s; ++i) {
    const float g = out.gamma_ptr[i];
    if (!(g >= 0.0f && g <= 1.0f)) {
      throw py::value_error(std::string(func) + "(): gammas[" + std::to_string(i) +
                            "] must lie in [0, 1]; got " + std::to_string(g) + ".");
    }
  }
  return out;
}

float* checked_output(const py::handle& obj, const char* func, const char* name, const Rollout& ro,
                      const std::vector<py::array>& inputs,
                      const std::vector<const char*>& input_names) {
  auto a = require(obj, func, name, Kind::kFloat32,
                   per_signal(ro, {static_cast<py::ssize_t>(ro.shape.steps),
                                   static_cast<py::ssize_t>(ro.shape.agents)}),
                   ro.single ? "(T, N)" : "(S, T, N)");
  if (!a.writeable()) fail(func, name, "a writeable array", "a read-only array");
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].is_none()) require_disjoint(a, name, inputs[i], input_names[i], func);
  }
  return static_cast<float*>(a.mutable_data());
}

py::array as_array_or_none(const py::handle& obj) {
  return obj.is_none() ? py::array() : py::reinterpret_borrow<py::array>(obj);
}

}  // namespace

void bind_gae(py::module_& m) {
  m.def(
      "gae_chunks",
      [](py::ssize_t signals, py::ssize_t steps, py::ssize_t agents, int threads) {
        if (signals < 0 || steps < 0 || agents < 0) {
          throw py::value_error("gae_chunks(): signals, steps and agents must be >= 0.");
        }
        return mlaf::gae_chunks({static_cast<std::size_t>(signals), static_cast<std::size_t>(steps),
                                 static_cast<std::size_t>(agents)},
                                threads);
      },
      py::arg("signals"), py::arg("steps"), py::arg("agents"), py::arg("threads"),
      "Blocks of agents gae() splits a call of this shape into with `threads` threads.");
  m.def(
      "gae",
      [](py::handle rewards, py::handle values, py::handle terminated, py::handle truncated,
         py::handle bootstrap_values, py::handle truncated_values, py::handle gammas, float lambd,
         py::handle advantages, py::handle returns) {
        const char* f = "gae";
        Rollout ro = check_rollout(f, rewards, values, terminated, truncated, bootstrap_values,
                                   truncated_values, gammas, true);
        if (!(lambd >= 0.0f && lambd <= 1.0f)) {
          throw py::value_error("gae(): lambd must lie in [0, 1]; got " + std::to_string(lambd) +
                                ".");
        }
        const std::vector<py::array> ins = {py::reinterpret_borrow<py::array>(rewards),
                                            py::reinterpret_borrow<py::array>(values),
                                            py::reinterpret_borrow<py::array>(bootstrap_values),
                                            as_array_or_none(truncated_values)};
        const std::vector<const char*> names = {"rewards", "values", "bootstrap_values",
                                                "truncated_values"};
        float* adv = checked_output(advantages, f, "advantages", ro, ins, names);
        float* ret = checked_output(returns, f, "returns", ro, ins, names);
        auto adv_arr = py::reinterpret_borrow<py::array>(advantages);
        require_disjoint(adv_arr, "advantages", py::reinterpret_borrow<py::array>(returns),
                         "returns", f);
        const float* g = ro.gamma_ptr;
        py::gil_scoped_release release;
        mlaf::gae(ro.shape, ro.inputs, g, lambd, adv, ret);
      },
      py::arg("rewards"), py::arg("values"), py::arg("terminated"), py::arg("truncated"),
      py::arg("bootstrap_values"), py::arg("truncated_values"), py::arg("gammas"), py::arg("lambd"),
      py::arg("advantages"), py::arg("returns"));

  m.def(
      "discounted_returns",
      [](py::handle rewards, py::handle terminated, py::handle truncated,
         py::handle bootstrap_values, py::handle truncated_values, py::handle gammas,
         py::handle returns) {
        const char* f = "discounted_returns";
        Rollout ro = check_rollout(f, rewards, py::none(), terminated, truncated, bootstrap_values,
                                   truncated_values, gammas, false);
        const std::vector<py::array> ins = {py::reinterpret_borrow<py::array>(rewards),
                                            py::reinterpret_borrow<py::array>(bootstrap_values),
                                            as_array_or_none(truncated_values)};
        float* ret = checked_output(returns, f, "returns", ro, ins,
                                    {"rewards", "bootstrap_values", "truncated_values"});
        const float* g = ro.gamma_ptr;
        py::gil_scoped_release release;
        mlaf::discounted_returns(ro.shape, ro.inputs, g, ret);
      },
      py::arg("rewards"), py::arg("terminated"), py::arg("truncated"), py::arg("bootstrap_values"),
      py::arg("truncated_values"), py::arg("gammas"), py::arg("returns"));

  m.def(
      "gae_trajectory",
      [](py::handle rewards, py::handle values, float value_next, float gamma, float lambd,
         py::handle advantages) {
        const char* f = "gae_trajectory";
        auto r = require(rewards, f, "rewards", Kind::kFloat32, {kAny}, "(T,)");
        const py::ssize_t t = r.shape(0);
        auto v = require(values, f, "values", Kind::kFloat32, {t}, "(T,)");
        auto a = require(advantages, f, "advantages", Kind::kFloat32, {t}, "(T,)");
        require_disjoint(a, "advantages", r, "rewards", f);
        require_disjoint(a, "advantages", v, "values", f);
        const auto* rp = static_cast<const float*>(r.data());
        const auto* vp = static_cast<const float*>(v.data());
        auto* ap = static_cast<float*>(a.mutable_data());
        py::gil_scoped_release release;
        mlaf::gae_trajectory(rp, vp, static_cast<std::size_t>(t), value_next, gamma, lambd, ap);
      },
      py::arg("rewards"), py::arg("values"), py::arg("value_next"), py::arg("gamma"),
      py::arg("lambd"), py::arg("advantages"));

  m.def(
      "discount_rewards",
      [](py::handle rewards, float gamma, float value_next, py::handle returns) {
        const char* f = "discount_rewards";
        auto r = require(rewards, f, "rewards", Kind::kFloat32, {kAny}, "(T,)");
        const py::ssize_t t = r.shape(0);
        auto out = require(returns, f, "returns", Kind::kFloat32, {t}, "(T,)");
        const auto* rp = static_cast<const float*>(r.data());
        auto* op = static_cast<float*>(out.mutable_data());
        py::gil_scoped_release release;
        mlaf::discount_rewards(rp, static_cast<std::size_t>(t), gamma, value_next, op);
      },
      py::arg("rewards"), py::arg("gamma"), py::arg("value_next"), py::arg("returns"));

  m.def(
      "trajectory_means",
      [](py::handle values, py::handle closes) {
        const char* f = "trajectory_means";
        auto v = require(values, f, "values", Kind::kFloat32, {kAny, kAny}, "(S, M)");
        const py::ssize_t steps = v.shape(1);
        auto c = require(closes, f, "closes", Kind::kFlag, {steps}, "(M,)");
        const auto signals = static_cast<std::size_t>(v.shape(0));
        const auto* cp = static_cast<const std::uint8_t*>(c.data());
        const std::size_t k = mlaf::count_trajectories(cp, static_cast<std::size_t>(steps));
        py::array_t<double> means({static_cast<py::ssize_t>(signals), static_cast<py::ssize_t>(k)});
        const auto* vp = static_cast<const float*>(v.data());
        double* mp = means.mutable_data();
        {
          py::gil_scoped_release release;
          mlaf::trajectory_means(vp, signals, static_cast<std::size_t>(steps), cp, k, mp);
        }
        return means;
      },
      py::arg("values"), py::arg("closes"),
      "Mean of each trajectory's values [S, M] (trajectories one after another, closes [M] "
      "nonzero at each one's last step): float64 [S, K].");
}

}  // namespace mlaf_py
