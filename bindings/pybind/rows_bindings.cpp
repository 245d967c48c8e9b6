// Glue for the row copies of native/include/mlaf/gather.h: a gather plan and a
// row writer, each validating a buffer's field arrays once so that every call
// only checks what changes (indices, or the rows being written).
#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include "checks.h"
#include "mlaf/gather.h"

namespace mlaf_py {
namespace {

// Row layout of an array: leading dimension = rows, the rest = one row.
std::size_t row_bytes(const py::array& a) {
  std::size_t bytes = static_cast<std::size_t>(a.itemsize());
  for (py::ssize_t i = 1; i < a.ndim(); ++i) bytes *= static_cast<std::size_t>(a.shape(i));
  return bytes;
}

bool same_row_layout(const py::array& a, const py::array& b) {
  if (!a.dtype().is(b.dtype()) || a.ndim() != b.ndim()) return false;
  for (py::ssize_t i = 1; i < a.ndim(); ++i) {
    if (a.shape(i) != b.shape(i)) return false;
  }
  return true;
}

py::array checked_any(const py::handle& obj, const char* func, const char* arg) {
  const std::string expected = "a C-contiguous numpy array with at least one dimension";
  if (!py::isinstance<py::array>(obj)) {
    fail(func, arg, expected, py::str(py::type::of(obj).attr("__name__")).cast<std::string>());
  }
  auto a = py::reinterpret_borrow<py::array>(obj);
  if (!(a.flags() & py::array::c_style) || a.ndim() < 1) fail(func, arg, expected, describe(a));
  return a;
}

// Holds references to every array so the raw pointers stay valid.
class GatherPlan {
 public:
  GatherPlan(const py::list& sources, const py::list& destinations) {
    const char* f = "GatherPlan";
    if (sources.size() != destinations.size()) {
      throw py::value_error("GatherPlan(): got " + std::to_string(sources.size()) +
                            " sources but " + std::to_string(destinations.size()) +
                            " destinations; pass one destination per source.");
    }
    for (std::size_t i = 0; i < sources.size(); ++i) {
      const std::string name = "sources[" + std::to_string(i) + "]";
      const std::string dname = "destinations[" + std::to_string(i) + "]";
      auto src = checked_any(sources[i], f, name.c_str());
      auto dst = checked_any(destinations[i], f, dname.c_str());
      if (!same_row_layout(src, dst)) {
        throw py::value_error("GatherPlan(): " + dname + " (" + describe(dst) +
                              ") must have the dtype and row shape of " + name + " (" +
                              describe(src) + ").");
      }
      if (!dst.writeable()) fail(f, dname.c_str(), "a writeable array", "a read-only array");
      if (i == 0) {
        num_rows_ = src.shape(0);
        capacity_ = dst.shape(0);
      } else if (src.shape(0) != num_rows_ || dst.shape(0) != capacity_) {
        throw py::value_error("GatherPlan(): every source must have " + std::to_string(num_rows_) +
                              " rows and every destination " + std::to_string(capacity_) + "; " +
                              name + " or " + dname + " differs.");
      }
      fields_.push_back({static_cast<const std::uint8_t*>(src.data()),
                         static_cast<std::uint8_t*>(dst.mutable_data()), row_bytes(src)});
      keep_alive_.push_back(src);
      keep_alive_.push_back(dst);
    }
  }

  // Gathers rows `indices` (-1 = zero padding) into the first len(indices)
  // rows of every destination.
  void gather(const py::handle& indices) const {
    const char* f = "GatherPlan.gather";
    auto idx = require(indices, f, "indices", Kind::kInt64, {kAny}, "(M,)");
    const auto count = static_cast<std::size_t>(idx.shape(0));
    if (idx.shape(0) > capacity_) {
      throw py::value_error("GatherPlan.gather(): got " + std::to_string(count) +
                            " indices but the destinations hold " + std::to_string(capacity_) +
                            " rows.");
    }
    const auto* ip = static_cast<const std::int64_t*>(idx.data());
    if (count > 0) {
      const mlaf::IndexRange range = mlaf::index_range(ip, count);
      if (range.min < -1 || range.max >= num_rows_) {
        const std::int64_t bad = range.min < -1 ? range.min : range.max;
        throw py::value_error("GatherPlan.gather(): index " + std::to_string(bad) +
                              " is out of range; indices must lie in [0, " +
                              std::to_string(num_rows_) + "), or be -1 for padding.");
      }
    }
    py::gil_scoped_release release;
    // Gathers into one plan's destinations run one at a time.
    std::lock_guard<std::mutex> lock(mutex_);
    mlaf::gather_rows(fields_.data(), fields_.size(), static_cast<std::size_t>(num_rows_), ip,
                      count);
  }

  py::ssize_t capacity() const { return capacity_; }

  std::size_t chunks(py::ssize_t count, int threads) const {
    if (count < 0) throw py::value_error("GatherPlan.chunks(): count must be >= 0.");
    return mlaf::gather_chunks(fields_.data(), fields_.size(), static_cast<std::size_t>(count),
                               threads);
  }

 private:
  mutable std::mutex mutex_;  // gather() is const: it only writes the destinations
  std::vector<mlaf::RowField> fields_;
  std::vector<py::array> keep_alive_;
  py::ssize_t num_rows_ = 0;
  py::ssize_t capacity_ = 0;
};

// Copies one batch of rows into a fixed set of destination arrays per call:
// a rollout step for all agents, or a block of replay transitions (wrapping).
class RowWriter {
 public:
  explicit RowWriter(const py::list& destinations) {
    for (std::size_t i = 0; i < destinations.size(); ++i) {
      const std::string name = "destinations[" + std::to_string(i) + "]";
      auto dst = checked_any(destinations[i], "RowWriter", name.c_str());
      if (!dst.writeable())
        fail("RowWriter", name.c_str(), "a writeable array", "a read-only array");
      if (i == 0) num_rows_ = dst.shape(0);
      if (dst.shape(0) != num_rows_) {
        throw py::value_error("RowWriter(): every destination must have " +
                              std::to_string(num_rows_) + " rows; " + name + " has " +
                              std::to_string(dst.shape(0)) + ".");
      }
      fields_.push_back({nullptr, static_cast<std::uint8_t*>(dst.mutable_data()), row_bytes(dst)});
      destinations_.push_back(dst);
    }
  }

  // Writes sources[i] (shape (n, *row shape of destination i)) at rows
  // start .. start + n - 1, wrapping at the row count.
  void write(py::ssize_t start, const py::list& sources) {
    const char* f = "RowWriter.write";
    if (sources.size() != destinations_.size()) {
      throw py::value_error("RowWriter.write(): got " + std::to_string(sources.size()) +
                            " sources for " + std::to_string(destinations_.size()) +
                            " destinations.");
    }
    if (start < 0) throw py::value_error("RowWriter.write(): start must be >= 0.");
    // A copy per call: calls from several threads never share the source pointers.
    std::vector<mlaf::RowField> fields = fields_;
    py::ssize_t count = -1;
    for (std::size_t i = 0; i < sources.size(); ++i) {
      const py::handle obj = sources[i];
      const bool ok = py::isinstance<py::array>(obj) &&
                      (py::reinterpret_borrow<py::array>(obj).flags() & py::array::c_style) &&
                      py::reinterpret_borrow<py::array>(obj).ndim() >= 1;
      if (!ok) checked_any(obj, f, ("sources[" + std::to_string(i) + "]").c_str());  // throws
      auto src = py::reinterpret_borrow<py::array>(obj);
      if (!same_row_layout(src, destinations_[i]) || (count >= 0 && src.shape(0) != count)) {
        throw py::value_error("RowWriter.write(): sources[" + std::to_string(i) + "] (" +
                              describe(src) +
                              ") must have the dtype and row shape of its destination (" +
                              describe(destinations_[i]) + ") and as many rows as sources[0].");
      }
      count = src.shape(0);
      fields[i].src = static_cast<const std::uint8_t*>(src.data());
    }
    if (count > num_rows_) {
      throw py::value_error("RowWriter.write(): " + std::to_string(count) +
                            " rows do not fit in destinations of " + std::to_string(num_rows_) +
                            " rows.");
    }
    // Sources stay referenced by `sources` for the whole call.
    py::gil_scoped_release release;
    mlaf::write_rows(fields.data(), fields.size(), static_cast<std::size_t>(start),
                     static_cast<std::size_t>(std::max<py::ssize_t>(count, 0)),
                     static_cast<std::size_t>(num_rows_));
  }

 private:
  std::vector<mlaf::RowField> fields_;
  std::vector<py::array> destinations_;
  py::ssize_t num_rows_ = 0;
};

}  // namespace

void bind_rows(py::module_& m) {
  py::class_<GatherPlan>(m, "GatherPlan")
      .def(py::init<const py::list&, const py::list&>(), py::arg("sources"),
           py::arg("destinations"))
      .def("gather", &GatherPlan::gather, py::arg("indices"))
      .def_property_readonly("capacity", &GatherPlan::capacity)
      .def("chunks", &GatherPlan::chunks, py::arg("count"), py::arg("threads"),
           "Row blocks a gather of `count` rows is split into with `threads` threads.");

  py::class_<RowWriter>(m, "RowWriter")
      .def(py::init<const py::list&>(), py::arg("destinations"))
      .def("write", &RowWriter::write, py::arg("start"), py::arg("sources"));
}

}  // namespace mlaf_py
