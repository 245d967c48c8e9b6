"""ML-Agents' test environments (trainers/tests/simple_test_envs.py) as `PythonEnv` copies.

These classes are the plain-Python reference of the native test environments
(native/include/mlaf/envs/simple.h, multi_agent.h), which `make("SimpleEnvironment", ...)`
runs: a parity test steps both side by side and compares every observation, reward,
flag, mask and group reward. They draw from the native generator's Python port and
round as the native code does (rewards and returns in float32), so the two agree bit
for bit. They also serve tests that want one copy on hand-allocated rows.

The game and its constants are in `game.py`; MultiAgentEnvironment is in `multi_agent.py`.

Differences from ML-Agents, where our contract has no equivalent:
- ML-Agents hands an agent a new agent id after each episode; a slot keeps its index
  here (the stepper writes agent ids) and episode boundaries come from `terminated`.
- Goals come from the xoshiro generator of `mlagents_fast.envs.native.rng`: brain
  name b of copy c reset with `seed` draws from `Rng(mix(behavior_seed(seed, b), c))`,
  as native copy c of behavior b does; not from a hash of the constructor arguments.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from mlagents_fast.envs.composite import behavior_seed
from mlagents_fast.envs.native.rng import Rng, mix
from mlagents_fast.envs.parameters import EnvironmentParameters
from mlagents_fast.envs.python.env import PythonEnv
from mlagents_fast.envs.testing.game import (
    OBS_SIZE,
    STEP_SIZE,
    VAR_LEN_SIZE,
    VIS_OBS_SIZE,
    Mover,
    Outcome,
    action_deltas,
    fill_rows,
    make_observation_specs,
)
from mlagents_fast.envs.vector import StepBatch
from mlagents_fast.spec import ActionSpec, ActionTuple, BehaviorSpec


class SimpleEnvironment(PythonEnv):
    """One agent per brain name (one behavior each) moving its positions toward a random goal.

    `action_sizes` is (continuous size, number of discrete branches of size 2). Each episode
    reads the environment parameter `step_size` (the option when unset), as the native rules do;
    MultiAgentEnvironment's rules read none.
    `final_rewards[name]` lists the return of every finished episode, as in ML-Agents.
    `copy` is the index of this copy among the native copies it mirrors (it picks the
    generator's seed and, for MultiAgentEnvironment, the group id).
    """

    def __init__(
        self,
        brain_names: Sequence[str],
        step_size: float = STEP_SIZE,
        num_visual: int = 0,
        num_vector: int = 1,
        num_var_len: int = 0,
        vis_obs_size: tuple[int, int, int] = VIS_OBS_SIZE,
        vec_obs_size: int = OBS_SIZE,
        var_len_obs_size: tuple[int, int] = VAR_LEN_SIZE,
        action_sizes: tuple[int, int] = (1, 0),
        goal_indices: Iterable[int] | None = None,
        *,
        seed: int = 0,
        copy: int = 0,
    ) -> None:
        self.names = list(brain_names)
        self.step_size = step_size
        self._parameters: EnvironmentParameters | None = None
        self._step_sizes = {name: step_size for name in brain_names}  # each agent's, this episode
        self.copy = copy
        continuous, discrete = action_sizes
        self.action_spec = ActionSpec(continuous, (2,) * discrete)
        specs = make_observation_specs(
            num_vector, num_visual, num_var_len, vec_obs_size, vis_obs_size, var_len_obs_size, goal_indices
        )
        self.behavior_spec = BehaviorSpec(specs, self.action_spec)
        self.final_rewards: dict[str, list[float]] = {name: [] for name in self.names}
        self._rngs: dict[str, Rng] = {}
        self._seed(seed)
        self._agents = {name: Mover([0.0] * (continuous + discrete)) for name in self.names}

    @property
    def behavior_specs(self) -> Mapping[str, BehaviorSpec]:
        return {name: self.behavior_spec for name in self.names}

    @property
    def agents_per_env(self) -> Mapping[str, int]:
        return {name: 1 for name in self.names}

    def goal(self, name: str) -> int:
        """The current episode's goal (-1 or +1) of brain `name`."""
        return self._agents[name].goal

    def optimal_actions(self, name: str) -> ActionTuple:
        """Full steps toward the goal on every action dimension (one row)."""
        goal = self._agents[name].goal
        return ActionTuple(
            np.full((1, self.action_spec.continuous_size), float(goal), np.float32),
            np.full((1, self.action_spec.discrete_size), int(goal > 0), np.int32),
        )

    def _seed(self, seed: int) -> None:
        self._rngs = {name: Rng(mix(behavior_seed(seed, b), self.copy)) for b, name in enumerate(self.names)}

    def _obs_value(self, agent: Mover) -> float:
        return float(agent.goal)

    def set_parameters(self, parameters: EnvironmentParameters) -> None:
        self._parameters = parameters

    def _episode_step_size(self) -> float:
        """The `step_size` environment parameter for a new episode (the option when unset, or when
        not a positive number), as the native rules read it."""
        if self._parameters is None:
            return self.step_size
        wanted = self._parameters.get_with_default("step_size", self.step_size)
        return wanted if math.isfinite(wanted) and wanted > 0.0 else self.step_size

    def _start(self, name: str, batch: StepBatch, row: int, agent: Mover) -> None:
        agent.restart(self._rngs[name])
        self._step_sizes[name] = self._episode_step_size()
        fill_rows(batch.obs, row, self._obs_value(agent))
        batch.reward[row] = 0.0
        batch.terminated[row] = batch.truncated[row] = False
        batch.group_reward[row] = 0.0
        if batch.action_mask is not None:
            batch.action_mask[row] = False

    def _write(self, name: str, batch: StepBatch, row: int, agent: Mover, outcome: Outcome) -> None:
        """Write one agent's step; an ended episode gets its terminal obs and the next one starts."""
        agent.episode_return += float(np.float32(outcome.reward))
        agent.episode_length += 1
        batch.reward[row] = outcome.reward
        batch.group_reward[row] = outcome.group_reward
        batch.terminated[row] = outcome.done
        batch.truncated[row] = False
        if batch.action_mask is not None:
            batch.action_mask[row] = False
        if outcome.done:
            fill_rows(batch.terminal_obs, row, self._obs_value(agent))
            batch.episode_return[row] = agent.episode_return
            batch.episode_length[row] = agent.episode_length
            agent.restart(self._rngs[name])
            self._step_sizes[name] = self._episode_step_size()
        fill_rows(batch.obs, row, self._obs_value(agent))

    def reset(self, out: Mapping[str, StepBatch], seed: int | None = None) -> None:
        if seed is not None:
            self._seed(seed)
        for name in self.names:
            self._start(name, out[name], 0, self._agents[name])

    def step(self, actions: Mapping[str, ActionTuple], out: Mapping[str, StepBatch]) -> None:
        for name in self.names:
            agent = self._agents[name]
            done = agent.move(action_deltas(actions[name], 0), self._step_sizes[name])
            outcome = Outcome(agent.reward(done), done)
            if done:  # the episode's return as the batch reports it (summed in double, stored as float32)
                episode_return = agent.episode_return + float(np.float32(outcome.reward))
                self.final_rewards[name].append(float(np.float32(episode_return)))
            self._write(name, out[name], 0, agent, outcome)


class MemoryEnvironment(SimpleEnvironment):
    """The goal is shown only while at most `num_show_steps` position updates were made; then 0.

    With one action dimension that is the first three observations of an episode, so an
    agent must remember the goal (ML-Agents' recurrent-policy test).
    """

    def __init__(
        self,
        brain_names: Sequence[str],
        action_sizes: tuple[int, int] = (1, 0),
        step_size: float = 0.2,
        *,
        num_show_steps: int = 2,
        seed: int = 0,
        copy: int = 0,
    ) -> None:
        super().__init__(brain_names, step_size=step_size, action_sizes=action_sizes, seed=seed, copy=copy)
        self.num_show_steps = num_show_steps

    def _obs_value(self, agent: Mover) -> float:
        return float(agent.goal) if agent.step_count <= self.num_show_steps else 0.0


class UnexpectedExceptionEnvironment(SimpleEnvironment):
    """Raises `to_raise` (an exception class or instance) from every `step`, for error-path tests."""

    def __init__(
        self,
        brain_names: Sequence[str],
        to_raise: type[BaseException] | BaseException = RuntimeError,
        action_sizes: tuple[int, int] = (1, 0),
        *,
        seed: int = 0,
    ) -> None:
        super().__init__(brain_names, action_sizes=action_sizes, seed=seed)
        self.to_raise = to_raise

    def step(self, actions: Mapping[str, ActionTuple], out: Mapping[str, StepBatch]) -> None:
        raise self.to_raise() if isinstance(self.to_raise, type) else self.to_raise
