"""`num_envs` copies of a Python environment stepped one after another in this process.

The cheapest stepper when one copy's step costs little (a few to tens of microseconds,
e.g. gymnasium's classic-control tasks): no processes, no synchronisation; each copy
writes straight into its rows of the batch. A copy that raises cannot be restarted
behind the caller's back here (it shares the caller's process and state): its exception
becomes an EnvError naming the environment and the copy, chained to the original.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlagents_fast.envs.parameters import EnvironmentParameters
from mlagents_fast.envs.python.env import EnvFactory, PythonEnv
from mlagents_fast.envs.python.layout import BatchLayout, allocate_local
from mlagents_fast.envs.python.stepper import RowStepper, check_same_specs, default_name
from mlagents_fast.envs.vector import EnvError


class InProcessVectorEnv(RowStepper):
    """Runs `num_envs` copies built by `factory` in this process, copy i seeded with seed + i."""

    def __init__(self, factory: EnvFactory, num_envs: int, name: str | None = None) -> None:
        name = name or default_name(factory)
        copies: list[PythonEnv] = []
        try:
            for i in range(num_envs):
                copies.append(_build(factory, name, i))
            first = (copies[0].behavior_specs, copies[0].agents_per_env) if copies else ({}, {})
            for i, copy in enumerate(copies[1:], 1):
                check_same_specs(name, first, (copy.behavior_specs, copy.agents_per_env), i)
            layout = BatchLayout(first[0], first[1], num_envs)
        except BaseException:
            for copy in copies:
                copy.close()
            raise
        self._buffer, arrays = allocate_local(layout)
        self._bind(name, layout, arrays)
        self._copies = copies
        # Built once: each copy gets the same row-view objects on every call.
        views = [layout.copy_views(arrays, i) for i in range(num_envs)]
        self._jobs = [(copy, view.actions, view.out) for copy, view in zip(copies, views, strict=True)]
        self._closed = False

    def reset(self, seed: int | None = None) -> None:
        self._check_open()
        self._remember_seed(seed)
        for i, (copy, _, out) in enumerate(self._jobs):
            try:
                copy.reset(out, None if seed is None else seed + i)
            except Exception as error:
                raise self._copy_error(i, "reset", error) from error
        self._check_outputs()

    def step(self) -> None:
        self._check_open()
        self._before_step()
        i = 0
        try:
            for i, (copy, actions, out) in enumerate(self._jobs):  # noqa: B007 - i names the failing copy
                copy.step(actions, out)
        except Exception as error:
            raise self._copy_error(i, "step", error) from error
        self._check_outputs()

    def set_parameters(self, parameters: Mapping[str, Any]) -> None:
        self._check_open()
        known = getattr(self._copies[0], "parameter_names", None)
        samplers = self._parse_parameters(parameters, None if known is None else set(known))
        base = self._seed or 0
        for i, copy in enumerate(self._copies):
            copy.set_parameters(EnvironmentParameters(samplers, base + i))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for copy in self._copies:
            copy.close()

    def _check_open(self) -> None:
        if self._closed:
            raise EnvError(f"Environment {self.name!r} is closed.")

    def _copy_error(self, copy: int, what: str, error: Exception) -> EnvError:
        return EnvError(f"Environment {self.name!r}, copy {copy}: {what} raised {type(error).__name__}: {error}")


def _build(factory: EnvFactory, name: str, copy: int) -> PythonEnv:
    try:
        return factory()
    except Exception as error:
        raise EnvError(f"Environment {name!r}, copy {copy}: building it raised {type(error).__name__}: {error}") from (
            error
        )
