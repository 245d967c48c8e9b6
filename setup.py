"""Builds the native core as a static library, then every extension that links it.

All metadata lives in pyproject.toml; this file only describes the compiled parts.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from pybind11.setup_helpers import ParallelCompile, Pybind11Extension, build_ext
from setuptools import setup

ROOT = Path(__file__).parent.resolve()
# No -ffast-math: results must match the numpy references. -fno-trapping-math
# only lets the compiler turn float selects into vector blends (we never read
# FP exception flags); it changes no value.
# -ffp-contract=off: no fused multiply-adds, so the native environments agree to the bit with
# their Python references on every architecture (x86-64 builds use none by default; ARM's would).
CXX_FLAGS = ["-std=c++17", "-O3", "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off", "-Wall", "-Wextra"]


def load_source_hash() -> str:
    # Loaded by path: importing the package would need the extension it is building.
    spec = importlib.util.spec_from_file_location("_source_hash", ROOT / "mlagents_fast" / "_source_hash.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.source_hash(ROOT))


def relative(paths: list[Path]) -> list[str]:
    return [p.relative_to(ROOT).as_posix() for p in sorted(paths)]


# setuptools rebuilds an object when its source is newer; the headers are listed as what every
# object depends on too, so a change to a header alone rebuilds what includes it.
NATIVE_HEADERS = relative(list((ROOT / "native" / "include").rglob("*.h")))

native_lib = (
    "mlaf_native",
    {
        "sources": relative(list((ROOT / "native" / "src").glob("*.cpp"))),
        "include_dirs": ["native/include"],
        "cflags": [*CXX_FLAGS, "-fPIC"],
        "obj_deps": {"": NATIVE_HEADERS},
    },
)

kernels = Pybind11Extension(
    "mlagents_fast._ext._kernels",
    sources=relative(list((ROOT / "bindings" / "pybind").glob("*.cpp"))),
    include_dirs=["native/include", "bindings/pybind"],
    define_macros=[("MLAF_SOURCE_HASH", f'"{load_source_hash()}"')],
    depends=[*NATIVE_HEADERS, *relative(list((ROOT / "bindings" / "pybind").glob("*.h")))],
    extra_compile_args=CXX_FLAGS,
    cxx_std=17,
)

if sys.platform.startswith("linux"):
    kernels.extra_link_args.append("-Wl,--exclude-libs,ALL")


class BuildExtWithNative(build_ext):
    """Builds the static native library first, so `setup.py build_ext` works on its own too;
    setuptools then links every extension against it."""

    def run(self) -> None:
        self.run_command("build_clib")
        super().run()


ParallelCompile("MLAF_BUILD_JOBS", default=0).install()
setup(ext_modules=[kernels], libraries=[native_lib], cmdclass={"build_ext": BuildExtWithNative})
