// Argument checks at the Python boundary. Every failure is a ValueError that
// names the function, the argument, what was expected and what was received.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <vector>

namespace mlaf_py {

namespace py = pybind11;

// Dimension value meaning "any size".
constexpr py::ssize_t kAny = -1;

enum class Kind { kFloat32, kFloat64, kInt32, kInt64, kFlag };

inline const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::kFloat32:
      return "float32";
    case Kind::kFloat64:
      return "float64";
    case Kind::kInt32:
      return "int32";
    case Kind::kInt64:
      return "int64";
    case Kind::kFlag:
      return "bool or uint8";
  }
  return "?";
}

inline bool has_kind(const py::array& a, Kind kind) {
  const py::dtype dt = a.dtype();
  switch (kind) {
    case Kind::kFloat32:
      return dt.is(py::dtype::of<float>());
    case Kind::kFloat64:
      return dt.is(py::dtype::of<double>());
    case Kind::kInt32:
      return dt.is(py::dtype::of<std::int32_t>());
    case Kind::kInt64:
      return dt.is(py::dtype::of<std::int64_t>());
    case Kind::kFlag:
      return dt.is(py::dtype::of<bool>()) || dt.is(py::dtype::of<std::uint8_t>());
  }
  return false;
}

inline std::string shape_str(const std::vector<py::ssize_t>& dims) {
  std::string s = "(";
  for (std::size_t i = 0; i < dims.size(); ++i) {
    s += dims[i] == kAny ? std::string("any") : std::to_string(dims[i]);
    if (i + 1 < dims.size() || dims.size() == 1) s += ",";
    if (i + 1 < dims.size()) s += " ";
  }
  return s + ")";
}

[[noreturn]] inline void fail(const char* func, const char* arg, const std::string& expected,
                              const std::string& got) {
  throw py::value_error(std::string(func) + "(): argument '" + arg + "' must be " + expected +
                        "; got " + got + ".");
}

inline std::string describe(const py::array& a) {
  std::vector<py::ssize_t> dims(a.shape(), a.shape() + a.ndim());
  std::string s = py::str(a.dtype()).cast<std::string>() + " array of shape " + shape_str(dims);
  if (!(a.flags() & py::array::c_style)) s += " that is not C-contiguous";
  return s;
}

// Returns `obj` as an array after checking it is a C-contiguous numpy array of
// `kind` whose shape matches `dims` (kAny matches any size). `label` names the
// dimensions for the message, for example "(S, T, N)".
inline py::array require(const py::handle& obj, const char* func, const char* arg, Kind kind,
                         const std::vector<py::ssize_t>& dims, const char* label) {
  // The message is built only on failure: this runs on every kernel call.
  auto expected = [&] {
    return std::string("a C-contiguous ") + kind_name(kind) + " numpy array of shape " + label +
           " = " + shape_str(dims);
  };
  if (!py::isinstance<py::array>(obj)) {
    fail(func, arg, expected(), py::str(py::type::of(obj).attr("__name__")).cast<std::string>());
  }
  auto a = py::reinterpret_borrow<py::array>(obj);
  bool ok = has_kind(a, kind) && (a.flags() & py::array::c_style) &&
            a.ndim() == static_cast<py::ssize_t>(dims.size());
  for (std::size_t i = 0; ok && i < dims.size(); ++i) {
    ok = dims[i] == kAny || a.shape(static_cast<py::ssize_t>(i)) == dims[i];
  }
  if (!ok) fail(func, arg, expected(), describe(a));
  return a;
}

// Outputs written while inputs are still being read must not share memory.
inline void require_disjoint(const py::array& out, const char* out_name, const py::array& in,
                             const char* in_name, const char* func) {
  const auto* o = static_cast<const char*>(out.data());
  const auto* i = static_cast<const char*>(in.data());
  if (o < i + in.nbytes() && i < o + out.nbytes()) {
    throw py::value_error(std::string(func) + "(): output '" + out_name +
                          "' shares memory with input '" + in_name + "'; pass a separate array.");
  }
}

}  // namespace mlaf_py
