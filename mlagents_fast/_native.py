"""The only importer of compiled modules.

Everything else imports native functions from here. A missing build, or one
made from other sources than those in this checkout, raises `NativeBuildError`
with the command that fixes it; there is no slow fall-back.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from mlagents_fast._source_hash import source_hash

REBUILD_HINT = "Rebuild the extensions from the repository root with `pip install -e .`."


class NativeBuildError(ImportError):
    """The compiled extension is missing or was built from other sources."""


def _source_root() -> Path | None:
    """The checkout this package sits in, if it is one (editable or in-place build)."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "setup.py").is_file() and (root / "native").is_dir() else None


def check_build(module: ModuleType, root: Path | None) -> None:
    """Raise NativeBuildError if `module` was built from sources other than `root`'s."""
    if root is None:
        return
    built = getattr(module, "SOURCE_HASH", None)
    current = source_hash(root)
    if built != current:
        raise NativeBuildError(
            f"The compiled module {module.__name__} is stale: it was built from native sources "
            f"with digest {str(built)[:12]}, but the sources in {root} now have digest {current[:12]} "
            f"(native/ or bindings/ changed since the last build). {REBUILD_HINT}"
        )


def _load() -> ModuleType:
    try:
        from mlagents_fast._ext import _kernels
    except ImportError as error:  # the build is missing or was made for another Python
        raise NativeBuildError(
            f"The compiled module mlagents_fast._ext._kernels could not be imported ({error}). {REBUILD_HINT}"
        ) from error
    check_build(_kernels, _source_root())
    return _kernels


_load()

# Re-exported by name (not through a module attribute) so mypy sees their types.
from mlagents_fast._ext import _kernels as kernels  # noqa: E402
from mlagents_fast._ext._kernels import (  # noqa: E402
    MAX_KERNEL_THREADS,
    NORMALIZER_MIN_VARIANCE,
    GatherPlan,
    NativeVecEnv,
    Rng,
    RowWriter,
    RunningNormalizer,
    adam_step,
    discount_rewards,
    discounted_returns,
    gae,
    gae_chunks,
    gae_trajectory,
    heads_backward,
    heads_forward,
    kernel_threads,
    lstm_backward,
    lstm_forward,
    native_env_names,
    ppo_head_loss,
    ppo_head_sample,
    sac_losses,
    sac_squash_backward,
    sac_squash_forward,
    sequence_indices,
    set_kernel_threads,
    shuffled_indices,
    swish_backward,
    swish_mlp_forward,
    trajectory_means,
    uniform_indices,
    wide_linear_backward,
)

__all__ = [
    "MAX_KERNEL_THREADS",
    "NORMALIZER_MIN_VARIANCE",
    "GatherPlan",
    "NativeBuildError",
    "NativeVecEnv",
    "Rng",
    "RowWriter",
    "RunningNormalizer",
    "adam_step",
    "discount_rewards",
    "discounted_returns",
    "gae",
    "gae_chunks",
    "gae_trajectory",
    "heads_backward",
    "heads_forward",
    "kernel_threads",
    "kernels",
    "lstm_backward",
    "lstm_forward",
    "native_env_names",
    "ppo_head_loss",
    "ppo_head_sample",
    "sac_losses",
    "sac_squash_backward",
    "sac_squash_forward",
    "sequence_indices",
    "set_kernel_threads",
    "shuffled_indices",
    "swish_backward",
    "swish_mlp_forward",
    "trajectory_means",
    "uniform_indices",
    "wide_linear_backward",
]
