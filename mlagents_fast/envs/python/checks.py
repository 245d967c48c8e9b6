"""Per-step checks a Python stepper makes: actions before a step, written values after it.

Both run on every step, so each has a fast path of a few numpy calls over whole arrays;
only when it fails do the precise (slower) checks run to name the behavior, field,
agent and copy in the error.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from mlagents_fast.envs.python.layout import BatchLayout, BoundArrays, FieldPlace
from mlagents_fast.envs.vector import EnvError
from mlagents_fast.spec import ActionError, ActionTuple


class ActionCheck:
    """Validates one behavior's action arrays in place (shape, dtype, range, NaN, masks)."""

    def __init__(
        self, env_name: str, behavior: str, layout: BatchLayout, arrays: BoundArrays, actions: ActionTuple
    ) -> None:
        self.env_name = env_name
        self.behavior = behavior
        self.spec = layout.specs[behavior].action_spec
        self.agents_per_env = layout.agents_per_env[behavior]
        self.num_agents = layout.num_agents(behavior)
        self.actions = actions
        self.continuous = actions.continuous
        self.discrete = actions.discrete
        self.mask = arrays.batches[behavior].action_mask
        branches = self.spec.discrete_branches
        # Negative choices wrap to huge values as uint32, so one comparison checks both ends.
        self.upper = np.array(branches, np.uint32)
        self.discrete_bits = self.discrete.view(np.uint32)
        self.out_of_range = np.zeros(self.discrete.shape, np.bool_)
        self.offsets = np.cumsum((0, *branches[:-1])).astype(np.intp)

    def _prefix(self) -> str:
        return f"Environment {self.env_name!r}: "

    def full(self, actions: ActionTuple) -> None:
        """ActionSpec.validate with the environment named; raises ActionError."""
        try:
            self.spec.validate(actions, self.num_agents, self.behavior)
        except ActionError as error:
            raise ActionError(self._prefix() + str(error)) from None

    def __call__(self) -> None:
        actions = self.actions
        if actions.continuous is not self.continuous or actions.discrete is not self.discrete:
            self.full(actions)
            raise ActionError(
                self._prefix() + f"the action arrays of behavior {self.behavior!r} were replaced; fill them in place."
            )
        # A finite dot product means finite entries; an overflow falls through to the exact check.
        if self.continuous.size:
            flat = self.continuous.reshape(-1)
            if not math.isfinite(flat.dot(flat)):
                self.full(actions)
        if self.upper.size:
            if np.count_nonzero(np.greater_equal(self.discrete_bits, self.upper, out=self.out_of_range)):
                self.full(actions)
            if self.mask is not None and np.count_nonzero(self.mask):
                self._check_mask()

    def _check_mask(self) -> None:
        assert self.mask is not None
        blocked = np.take_along_axis(self.mask, self.discrete + self.offsets, axis=1)
        if blocked.any():
            agent, branch = (int(i) for i in np.argwhere(blocked)[0])
            raise ActionError(
                self._prefix() + f"behavior {self.behavior!r}: discrete branch {branch} of agent index {agent} "
                f"(copy {agent // self.agents_per_env}) chose {int(self.discrete[agent, branch])}, "
                "which its action mask forbids."
            )


class OutputCheck:
    """Finds NaN or inf in what the copies wrote (observations, terminal observations, rewards)."""

    def __init__(self, env_name: str, layout: BatchLayout, arrays: BoundArrays) -> None:
        self.env_name = env_name
        self.layout = layout
        self.arrays = arrays
        self.checked = arrays.checked
        self.places = layout.checked_places()

    def __call__(self) -> None:
        # One dot product over every checked field of every behavior: finite means all are finite
        # (an overflow of huge finite values falls through to the exact per-field check).
        if math.isfinite(self.checked.dot(self.checked)):
            return
        for place in self.places:
            self._check_field(place)

    def _check_field(self, place: FieldPlace) -> None:
        array: NDArray[np.float32] = self.layout.field_array(self.arrays, place)
        rows = np.isfinite(array.reshape(array.shape[0], -1)).all(axis=1)
        if rows.all():
            return
        agent = int(np.flatnonzero(~rows)[0])
        copy = agent // self.layout.agents_per_env[place.behavior]
        raise EnvError(
            f"Environment {self.env_name!r}, copy {copy}: behavior {place.behavior!r} wrote NaN or inf "
            f"into {place.field} (agent index {agent})."
        )
