// Glue for native/include/mlaf/normalizer.h.
#include <cmath>
#include <stdexcept>
#include <string>

#include "checks.h"
#include "mlaf/normalizer.h"

namespace mlaf_py {
namespace {

using mlaf::RunningNormalizer;

py::array_t<double> copy_out(const std::vector<double>& v) {
  py::array_t<double> a(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), a.mutable_data());
  return a;
}

// Validates externally supplied statistics (merge, set_state).
struct Stats {
  const double* mean;
  const double* m2;
};
Stats check_stats(const RunningNormalizer& self, const char* func, double count,
                  const py::handle& mean, const py::handle& m2) {
  const auto d = static_cast<py::ssize_t>(self.size());
  auto mu = require(mean, func, "mean", Kind::kFloat64, {d}, "(size,)");
  auto sq = require(m2, func, "m2", Kind::kFloat64, {d}, "(size,)");
  if (!(std::isfinite(count) && count >= 0.0)) {
    throw py::value_error(std::string(func) + "(): count must be a finite number >= 0; got " +
                          std::to_string(count) + ".");
  }
  const auto* mp = static_cast<const double*>(mu.data());
  const auto* sp = static_cast<const double*>(sq.data());
  for (py::ssize_t i = 0; i < d; ++i) {
    if (!std::isfinite(mp[i]) || !std::isfinite(sp[i]) || sp[i] < 0.0) {
      throw py::value_error(std::string(func) +
                            "(): mean and m2 must be finite, and m2 >= 0; "
                            "feature " +
                            std::to_string(i) + " has mean " + std::to_string(mp[i]) + " and m2 " +
                            std::to_string(sp[i]) + ".");
    }
  }
  return {mp, sp};
}

}  // namespace

void bind_normalizer(py::module_& m) {
  m.attr("NORMALIZER_MIN_VARIANCE") = RunningNormalizer::kMinVariance;
  py::class_<RunningNormalizer>(m, "RunningNormalizer")
      .def(py::init([](py::ssize_t size, double initial_count, float clip) {
             if (size <= 0) {
               throw py::value_error("RunningNormalizer(): size must be > 0; got " +
                                     std::to_string(size) + ".");
             }
             if (!(std::isfinite(initial_count) && initial_count >= 0.0)) {
               throw py::value_error("RunningNormalizer(): initial_count must be >= 0.");
             }
             if (!(clip > 0.0f)) {
               throw py::value_error("RunningNormalizer(): clip must be > 0; got " +
                                     std::to_string(clip) + ".");
             }
             // Held by pointer: the object owns a mutex, so it cannot move.
             return new RunningNormalizer(static_cast<std::size_t>(size), initial_count, clip);
           }),
           py::arg("size"), py::arg("initial_count"), py::arg("clip"))
      .def_property_readonly("size", &RunningNormalizer::size)
      .def_property_readonly("count", [](const RunningNormalizer& s) { return s.state().count; })
      .def_property_readonly("clip", &RunningNormalizer::clip)
      .def("state",
           [](const RunningNormalizer& s) {
             mlaf::NormalizerState st = s.state();
             return py::make_tuple(st.count, copy_out(st.mean), copy_out(st.m2));
           })
      .def(
          "update",
          [](RunningNormalizer& self, py::handle batch) {
            auto b = require(batch, "RunningNormalizer.update", "batch", Kind::kFloat32,
                             {kAny, static_cast<py::ssize_t>(self.size())}, "(B, size)");
            const auto* p = static_cast<const float*>(b.data());
            const auto rows = static_cast<std::size_t>(b.shape(0));
            try {
              py::gil_scoped_release release;
              self.update(p, rows);
            } catch (const std::domain_error& e) {
              throw py::value_error(std::string("RunningNormalizer.update(): argument 'batch' ") +
                                    e.what() + "; the statistics were left unchanged.");
            }
          },
          py::arg("batch"))
      .def(
          "normalize",
          [](const RunningNormalizer& self, py::handle x, py::handle out) {
            const char* f = "RunningNormalizer.normalize";
            const auto d = static_cast<py::ssize_t>(self.size());
            auto in = require(x, f, "x", Kind::kFloat32, {kAny, d}, "(B, size)");
            auto o = require(out, f, "out", Kind::kFloat32, {in.shape(0), d}, "(B, size)");
            if (!o.writeable()) fail(f, "out", "a writeable array", "a read-only array");
            const auto* ip = static_cast<const float*>(in.data());
            auto* op = static_cast<float*>(o.mutable_data());
            const auto rows = static_cast<std::size_t>(in.shape(0));
            py::gil_scoped_release release;
            self.normalize(ip, rows, op);
          },
          py::arg("x"), py::arg("out"))
      .def(
          "merge",
          [](RunningNormalizer& self, double count, py::handle mean, py::handle m2) {
            Stats st = check_stats(self, "RunningNormalizer.merge", count, mean, m2);
            self.merge(count, st.mean, st.m2);
          },
          py::arg("count"), py::arg("mean"), py::arg("m2"))
      .def(
          "set_state",
          [](RunningNormalizer& self, double count, py::handle mean, py::handle m2) {
            Stats st = check_stats(self, "RunningNormalizer.set_state", count, mean, m2);
            self.set_state(count, st.mean, st.m2);
          },
          py::arg("count"), py::arg("mean"), py::arg("m2"));
}

}  // namespace mlaf_py
