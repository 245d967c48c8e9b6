// Glue for the native environments: a VecEnv whose arrays are exposed as numpy views
// (their memory stays owned by the VecEnv; each view keeps the Python object alive).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <vector>

#include "mlaf/envs/vec_env.h"

namespace mlaf_py {

namespace py = pybind11;
using mlaf::envs::VecEnv;

namespace {

template <class T>
py::array view(py::handle owner, std::vector<T>& data, std::vector<py::ssize_t> shape,
               const py::dtype& dtype) {
  std::vector<py::ssize_t> strides(shape.size());
  py::ssize_t stride = static_cast<py::ssize_t>(sizeof(T));
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= shape[i];
  }
  return py::array(dtype, std::move(shape), std::move(strides), data.data(), owner);
}

std::vector<py::ssize_t> with_slots(py::ssize_t slots, const std::vector<int>& shape) {
  std::vector<py::ssize_t> out{slots};
  out.insert(out.end(), shape.begin(), shape.end());
  return out;
}

py::list observation_views(py::handle self, VecEnv& env, std::vector<std::vector<float>>& planes) {
  py::list out;
  for (std::size_t k = 0; k < planes.size(); ++k) {
    out.append(view(self, planes[k], with_slots(env.num_slots(), env.info().observations[k].shape),
                    py::dtype::of<float>()));
  }
  return out;
}

}  // namespace

void bind_envs(py::module_& m) {
  py::class_<VecEnv>(m, "NativeVecEnv", "num_envs copies of a built-in native environment.")
      .def(py::init([](const std::string& name, int num_envs, int num_threads,
                       const std::map<std::string, double>& options) {
             return mlaf::envs::make_vec_env(name, options, num_envs, num_threads);
           }),
           py::arg("name"), py::arg("num_envs"), py::arg("num_threads"), py::arg("options"))
      .def_property_readonly("behavior", [](const VecEnv& e) { return e.info().behavior; })
      .def_property_readonly("num_envs", &VecEnv::num_envs)
      .def_property_readonly("num_threads", &VecEnv::num_threads)
      .def_property_readonly("agents_per_env",
                             [](const VecEnv& e) { return e.info().agents_per_env; })
      .def_property_readonly("observation_shapes",
                             [](const VecEnv& e) {
                               std::vector<std::vector<int>> shapes;
                               for (const auto& o : e.info().observations)
                                 shapes.push_back(o.shape);
                               return shapes;
                             })
      .def_property_readonly("observation_names",
                             [](const VecEnv& e) {
                               std::vector<std::string> names;
                               for (const auto& o : e.info().observations) names.push_back(o.name);
                               return names;
                             })
      .def_property_readonly("goal_signals",
                             [](const VecEnv& e) {
                               std::vector<bool> goals;
                               for (const auto& o : e.info().observations)
                                 goals.push_back(o.goal_signal);
                               return goals;
                             })
      .def_property_readonly("continuous_size",
                             [](const VecEnv& e) { return e.info().continuous_size; })
      .def_property_readonly("discrete_branches",
                             [](const VecEnv& e) { return e.info().discrete_branches; })
      .def_property_readonly("max_step", [](const VecEnv& e) { return e.info().max_step; })
      .def_property_readonly("decision_period",
                             [](const VecEnv& e) { return e.info().decision_period; })
      .def_property_readonly("parameter_names",
                             [](const VecEnv& e) { return e.info().parameter_names; })
      .def_property_readonly("teams", [](const VecEnv& e) { return e.info().teams; })
      .def_property_readonly("parameter_defaults",
                             [](const VecEnv& e) { return e.info().parameter_defaults; })
      .def_property_readonly("obs",
                             [](py::object self) {
                               VecEnv& e = self.cast<VecEnv&>();
                               return observation_views(self, e, e.arrays().obs);
                             })
      .def_property_readonly("terminal_obs",
                             [](py::object self) {
                               VecEnv& e = self.cast<VecEnv&>();
                               return observation_views(self, e, e.arrays().terminal_obs);
                             })
      .def_property_readonly("reward",
                             [](py::object self) {
                               VecEnv& e = self.cast<VecEnv&>();
                               return view(self, e.arrays().reward, {e.num_slots()},
                                           py::dtype::of<float>());
                             })
      .def_property_readonly("terminated",
                             [](py::object self) {
                               VecEnv& e = self.cast<VecEnv&>();
                               return view(self, e.arrays().terminated, {e.num_slots()},
                                           py::dtype("bool"));
                             })
      .def_property_readonly("truncated",
                             [](py::object self) {
                               VecEnv& e = self.cast<VecEnv&>();
                               return view(self, e.arrays().truncated, {e.num_slots()},
                                           py::dtype("bool"));
                             })
      .def_property_readonly("action_mask",
                             [](py::object self) {
                               VecEnv& e = self.cast<VecEnv&>();
                               return view(self, e.arrays().action_mask,
                                           {e.num_slots(), e.info().mask_width()},
                                           py::dtype("bool"));
                             })
      .def_property_readonly("episode_return",
                             [](py::object self) {
                               VecEnv& e = self.cast<VecEnv&>();
                               return view(self, e.arrays().episode_return, {e.num_slots()},
                                           py::dtype::of<float>());
                             })
      .def_property_readonly("episode_length",
                             [](py::object self) {
                               VecEnv& e = self.cast<VecEnv&>();
                               return view(self, e.arrays().episode_length, {e.num_slots()},
                                           py::dtype::of<std::int32_t>());
                             })
      .def_property_readonly("group_id",
                             [](py::object self) {
                               VecEnv& e = self.cast<VecEnv&>();
                               return view(self, e.arrays().group_id, {e.num_slots()},
                                           py::dtype::of<std::int32_t>());
                             })
      .def_property_readonly("absent",
                             [](py::object self) {
                               VecEnv& e = self.cast<VecEnv&>();
                               return view(self, e.arrays().absent, {e.num_slots()},
                                           py::dtype("bool"));
                             })
      .def_property_readonly("group_reward",
                             [](py::object self) {
                               VecEnv& e = self.cast<VecEnv&>();
                               return view(self, e.arrays().group_reward, {e.num_slots()},
                                           py::dtype::of<float>());
                             })
      .def_property_readonly("continuous_actions",
                             [](py::object self) {
                               VecEnv& e = self.cast<VecEnv&>();
                               return view(self, e.arrays().continuous,
                                           {e.num_slots(), e.info().continuous_size},
                                           py::dtype::of<float>());
                             })
      .def_property_readonly("discrete_actions",
                             [](py::object self) {
                               VecEnv& e = self.cast<VecEnv&>();
                               const auto branches =
                                   static_cast<py::ssize_t>(e.info().discrete_branches.size());
                               return view(self, e.arrays().discrete, {e.num_slots(), branches},
                                           py::dtype::of<std::int32_t>());
                             })
      .def("reset", &VecEnv::reset, py::arg("seed") = py::none(),
           py::call_guard<py::gil_scoped_release>(),
           "Start every slot's first episode; a seed reseeds the copies, None continues their "
           "streams.")
      .def("step", &VecEnv::step, py::call_guard<py::gil_scoped_release>(),
           "Validate the actions (ValueError naming agent and field) and advance every copy one "
           "decision.")
      .def(
          "send",
          [](VecEnv& e,
             const py::array_t<std::int32_t, py::array::c_style | py::array::forcecast>& ids) {
            if (ids.ndim() != 1)
              throw py::value_error("send(): env_ids must be a 1-D array of copy indices.");
            const std::int32_t* data = ids.data();
            const int count = static_cast<int>(ids.shape(0));
            py::gil_scoped_release release;
            e.send(data, count);
          },
          py::arg("env_ids"))
      .def(
          "recv",
          [](VecEnv& e, int count) {
            if (count < 1)
              throw py::value_error("recv(): count must be at least 1; got " +
                                    std::to_string(count) + ".");
            py::array_t<std::int32_t> out(count);
            std::int32_t* data = out.mutable_data();
            {
              py::gil_scoped_release release;
              e.recv(data, count);
            }
            return out;
          },
          py::arg("count"))
      .def_property_readonly("in_flight", &VecEnv::in_flight)
      .def(
          "set_sampler",
          [](VecEnv& e, const std::string& name, int kind,
             const std::vector<std::pair<double, double>>& intervals, std::int64_t seed) {
            if (kind < 0 || kind > 3 || intervals.empty()) {
              throw py::value_error("set_sampler(): kind must be 0..3 and intervals non-empty.");
            }
            if (e.in_flight() > 0)
              throw py::value_error("set_sampler() while copies are in flight.");
            return e.set_sampler(name,
                                 {static_cast<mlaf::envs::SamplerKind>(kind), intervals, seed});
          },
          py::arg("name"), py::arg("kind"), py::arg("intervals"), py::arg("seed"));
  m.def("native_env_names", &mlaf::envs::native_env_names);
}

}  // namespace mlaf_py
