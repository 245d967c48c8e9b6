"""Demonstrations as the steps an imitation method learns from (GAIL's expert, behavioral cloning)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mlagents_fast.demonstrations.format import Demonstration
from mlagents_fast.demonstrations.reader import read_demonstration
from mlagents_fast.reward_signals.base import SignalUpdateBatch
from mlagents_fast.run.errors import UnityTrainerException
from mlagents_fast.spec import BehaviorSpec


def expert_steps(demo: Demonstration) -> SignalUpdateBatch:
    """A demonstration's decisions as steps: each record that is not an episode's end, with the
    action taken and whether the episode ended after it (the next record's `done`)."""
    decided = np.flatnonzero(~demo.dones[:-1]) if len(demo) > 1 else np.zeros(0, np.int64)
    spec = demo.spec.action_spec
    ended = demo.dones[decided + 1]
    return SignalUpdateBatch(
        [o[decided] for o in demo.obs],
        demo.continuous_actions[decided] if spec.continuous_size else None,
        demo.discrete_actions[decided] if spec.discrete_branches else None,
        ended, None, ended,
    )  # fmt: skip


def load_expert(path: str, spec: BehaviorSpec, key: str) -> SignalUpdateBatch:
    """The demonstration at `path` (a file or a folder), checked against the behavior's spec;
    `key` is the setting that names it, for the errors."""
    try:
        demo = read_demonstration(path)
    except (ValueError, OSError) as error:  # (DemonstrationError and the wire and PNG decoders' errors)
        raise UnityTrainerException(f"`{key}`: cannot read the demonstration {path!r}: {error}.") from None
    ours = ([o.shape for o in spec.observation_specs], spec.action_spec)
    theirs = ([o.shape for o in demo.spec.observation_specs], demo.spec.action_spec)
    if ours != theirs:
        raise UnityTrainerException(
            f"`{key}`: the demonstration {path!r} (behavior {demo.behavior_name!r}) records observations "
            f"{theirs[0]} and actions {theirs[1]}, but this behavior has observations {ours[0]} and actions "
            f"{ours[1]}. Record the demonstration from this behavior's environment."
        )
    _check_actions(demo, path, key)
    steps = expert_steps(demo)
    if not len(steps):
        raise UnityTrainerException(f"`{key}`: the demonstration {Path(path)} holds no decision to learn from.")
    return steps


def _check_actions(demo: Demonstration, path: str, key: str) -> None:
    """Every recorded action one the behavior can take: discrete choices within their branches,
    continuous values and observations finite."""
    branches = demo.spec.action_spec.discrete_branches
    for b, size in enumerate(branches):
        choices = demo.discrete_actions[:, b]
        bad = np.flatnonzero((choices < 0) | (choices >= size))
        if len(bad):
            raise UnityTrainerException(
                f"`{key}`: the demonstration {path!r} records action {int(choices[bad[0]])} on branch {b} (record "
                f"{int(bad[0])}), which has choices 0 to {size - 1}."
            )
    arrays = [
        ("continuous actions", demo.continuous_actions),
        *((f"observation {i}", o) for i, o in enumerate(demo.obs)),
    ]
    for what, values in arrays:
        if values.size and not np.isfinite(values).all():
            record = int(np.flatnonzero(~np.isfinite(values.reshape(len(values), -1)).all(axis=1))[0])
            raise UnityTrainerException(
                f"`{key}`: the demonstration {path!r} holds a NaN or infinite value in its {what} (record {record})."
            )
