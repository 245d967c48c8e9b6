// Glue for the seeded index generators of native/include/mlaf/gather.h and
// the generator state they advance (saved and restored for resumed runs).
#include <pybind11/stl.h>

#include <mutex>
#include <string>

#include "checks.h"
#include "mlaf/gather.h"
#include "mlaf/rng.h"

namespace mlaf_py {
namespace {

// The generator as Python holds it: index functions run without the GIL, so
// each call locks the generator it advances.
struct SharedRng {
  explicit SharedRng(std::uint64_t seed) : rng(seed) {}
  mlaf::Rng rng;
  std::mutex mutex;
};

// Releases the GIL, then locks the generator, then runs fill(rng).
template <typename Fill>
void with_rng(SharedRng& shared, const Fill& fill) {
  py::gil_scoped_release release;
  std::lock_guard<std::mutex> lock(shared.mutex);
  fill(shared.rng);
}

py::array_t<std::int64_t> new_indices(py::ssize_t count) {
  return py::array_t<std::int64_t>(count);
}

void require_positive(const char* func, const char* arg, py::ssize_t value) {
  if (value <= 0) {
    throw py::value_error(std::string(func) + "(): " + arg + " must be > 0; got " +
                          std::to_string(value) + ".");
  }
}

}  // namespace

void bind_indices(py::module_& m) {
  py::class_<SharedRng>(m, "Rng")
      .def(py::init<std::uint64_t>(), py::arg("seed"))
      .def("state",
           [](SharedRng& r) {
             std::lock_guard<std::mutex> lock(r.mutex);
             return r.rng.state();
           })
      .def(
          "set_state",
          [](SharedRng& r, const mlaf::Rng::State& state) {
            std::lock_guard<std::mutex> lock(r.mutex);
            r.rng.set_state(state);
          },
          py::arg("state"))
      .def("next_u64", [](SharedRng& r) {
        std::lock_guard<std::mutex> lock(r.mutex);
        return r.rng.next();
      });

  m.def(
      "shuffled_indices",
      [](SharedRng& rng, py::ssize_t count) {
        if (count < 0) throw py::value_error("shuffled_indices(): count must be >= 0.");
        auto out = new_indices(count);
        auto* p = out.mutable_data();
        with_rng(rng, [&](mlaf::Rng& r) {
          mlaf::shuffled_indices(r, p, static_cast<std::size_t>(count));
        });
        return out;
      },
      py::arg("rng"), py::arg("count"));

  m.def(
      "sequence_indices",
      [](SharedRng& rng, py::ssize_t steps, py::ssize_t agents, py::ssize_t seq_len) {
        const char* f = "sequence_indices";
        require_positive(f, "seq_len", seq_len);
        if (steps < 0 || agents < 0) {
          throw py::value_error("sequence_indices(): steps and agents must be >= 0.");
        }
        const py::ssize_t chunks = (steps + seq_len - 1) / seq_len * agents;
        auto out = new_indices(chunks * seq_len);
        auto* p = out.mutable_data();
        with_rng(rng, [&](mlaf::Rng& r) {
          mlaf::sequence_indices(r, static_cast<std::size_t>(steps),
                                 static_cast<std::size_t>(agents),
                                 static_cast<std::size_t>(seq_len), p);
        });
        return out;
      },
      py::arg("rng"), py::arg("steps"), py::arg("agents"), py::arg("seq_len"));

  m.def(
      "uniform_indices",
      [](SharedRng& rng, py::ssize_t bound, py::ssize_t count) {
        require_positive("uniform_indices", "bound", bound);
        if (count < 0) throw py::value_error("uniform_indices(): count must be >= 0.");
        auto out = new_indices(count);
        auto* p = out.mutable_data();
        with_rng(rng, [&](mlaf::Rng& r) {
          mlaf::uniform_indices(r, static_cast<std::uint64_t>(bound), p,
                                static_cast<std::size_t>(count));
        });
        return out;
      },
      py::arg("rng"), py::arg("bound"), py::arg("count"));
}

}  // namespace mlaf_py
