// The one compiled module, mlagents_fast._ext._kernels. Each kernel family
// registers itself from its own *_bindings.cpp file.
#include <pybind11/pybind11.h>

#include <string>

#include "mlaf/parallel.h"

namespace py = pybind11;

namespace mlaf_py {
void bind_gae(py::module_& m);
void bind_normalizer(py::module_& m);
void bind_rows(py::module_& m);
void bind_indices(py::module_& m);
void bind_envs(py::module_& m);
void bind_ppo_heads(py::module_& m);
void bind_mlp_grads(py::module_& m);
void bind_sac_heads(py::module_& m);
void bind_lstm(py::module_& m);
}  // namespace mlaf_py

#ifndef MLAF_SOURCE_HASH
#error "setup.py defines MLAF_SOURCE_HASH (a digest of native/ and bindings/)"
#endif

PYBIND11_MODULE(_kernels, m) {
  m.doc() =
      "mlagents-fast native kernels: GAE, returns, normalizer, buffer gather, native environments, "
      "PPO and SAC heads, the LSTM recurrence.";
  m.attr("SOURCE_HASH") = MLAF_SOURCE_HASH;
  mlaf_py::bind_gae(m);
  mlaf_py::bind_normalizer(m);
  mlaf_py::bind_rows(m);
  mlaf_py::bind_indices(m);
  mlaf_py::bind_envs(m);
  mlaf_py::bind_ppo_heads(m);
  mlaf_py::bind_mlp_grads(m);
  mlaf_py::bind_sac_heads(m);
  mlaf_py::bind_lstm(m);
  m.attr("MAX_KERNEL_THREADS") = mlaf::kMaxKernelThreads;
  m.def("kernel_threads", &mlaf::kernel_threads,
        "Threads a large GAE or gather call is split over, the caller included.");
  m.def(
      "set_kernel_threads",
      [](int threads) {
        if (threads < 1 || threads > mlaf::kMaxKernelThreads) {
          throw py::value_error("set_kernel_threads(): threads must lie in [1, " +
                                std::to_string(mlaf::kMaxKernelThreads) + "]; got " +
                                std::to_string(threads) + ".");
        }
        mlaf::set_kernel_threads(threads);
      },
      py::arg("threads"));
}
