"""The optimal policy of ML-Agents' test environments, and a recorder of its demonstrations."""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from mlagents_fast.demonstrations.format import DemonstrationMeta
from mlagents_fast.demonstrations.writer import DemonstrationWriter
from mlagents_fast.envs.testing.simple import SimpleEnvironment
from mlagents_fast.envs.vector import VectorEnv
from mlagents_fast.spec import ActionTuple


class GoalFollower:
    """The optimal policy of these environments, read from the observations of a VectorEnv.

    Every action dimension takes a full step toward the goal the observations show; while
    MemoryEnvironment hides it (observations 0), the last goal shown is remembered.
    """

    def __init__(self) -> None:
        self._goals: dict[str, NDArray[np.float32]] = {}

    def __call__(self, env: VectorEnv, behavior: str) -> ActionTuple:
        """Writes the actions of `behavior` into `env.actions(behavior)` and returns them."""
        batch, actions = env.batch(behavior), env.actions(behavior)
        shown = batch.obs[0].reshape(batch.reward.shape[0], -1)[:, 0]
        goals = self._goals.setdefault(behavior, np.ones_like(shown))
        np.copyto(goals, np.sign(shown), where=shown != 0)
        actions.continuous[:] = goals[:, None]
        actions.discrete[:] = (goals > 0)[:, None]
        return actions


def record_demonstrations(
    env: SimpleEnvironment | VectorEnv | Callable[[], SimpleEnvironment | VectorEnv],
    n_demos: int | None,
    path: str | os.PathLike[str],
    behavior: str | None = None,
    seed: int | None = None,
    policy: Callable[[VectorEnv, str], ActionTuple] | None = None,
    episodes: int | None = None,
) -> DemonstrationMeta:
    """Play the optimal policy and write `n_demos` records (or, with `episodes`, that many whole
    episodes) of one behavior to a `.demo` file.

    `env` is a native test environment (`make("SimpleEnvironment", ...)`), a Python copy,
    or a function building either. The first agent of `behavior` (default: the first
    behavior) is recorded, playing `policy` (default: the optimal `GoalFollower`; it writes every
    behavior's actions into `env.actions(...)`). A record is the observation an agent decided on, the reward
    since its previous decision and the action it took; an episode's end adds a `done`
    record with the final observation and reward (the Unity recorder's layout). Returns
    the header written.
    """
    from mlagents_fast.envs.python.inprocess import InProcessVectorEnv

    made = env if isinstance(env, (SimpleEnvironment, VectorEnv)) else env()
    if isinstance(made, SimpleEnvironment):
        copy = made
        vector: VectorEnv = InProcessVectorEnv(lambda: copy, 1, name=type(copy).__name__)
    else:
        vector = made
    name = behavior or next(iter(vector.behavior_specs))
    vector.reset(seed)
    policy = policy or GoalFollower()
    batch = vector.batch(name)
    reward = 0.0  # reward reported with the next decision record
    if (n_demos is None) == (episodes is None):
        raise ValueError("record_demonstrations needs either n_demos or episodes")

    def more(writer: DemonstrationWriter) -> bool:
        return writer.number_steps < n_demos if n_demos is not None else writer.number_episodes < (episodes or 0)

    with DemonstrationWriter(path, name, vector.behavior_specs[name]) as writer:
        while more(writer):
            for other in vector.behavior_specs:
                policy(vector, other)
            actions = vector.actions(name)
            mask = None if batch.action_mask is None else batch.action_mask[0].copy()
            action_row = (actions.continuous[0].copy(), actions.discrete[0].copy())
            writer.record([o[0] for o in batch.obs], *action_row, reward=reward, action_mask=mask)
            vector.step()
            reward = float(batch.reward[0])
            ended, truncated = bool(batch.terminated[0] or batch.truncated[0]), bool(batch.truncated[0])
            if ended and (n_demos is None or writer.number_steps < n_demos):
                final_obs = [o[0] for o in batch.terminal_obs]
                writer.record(
                    final_obs, *action_row, reward=reward, done=True, max_step_reached=truncated, action_mask=mask
                )
            if ended:
                reward = 0.0
        return writer.meta
