"""ML-Agents' test environments (trainers/tests/simple_test_envs.py) as `PythonEnv` copies.

These classes are the plain-Python reference of the native test environments
(native/include/mlaf/envs/simple.h, multi_agent.h), which `make("SimpleEnvironment", ...)`
runs: a parity test steps both side by side and compares every observation, reward,
flag, mask and group reward. They draw from the native generator's Python port and
round as the native code does (rewards and returns in float32), so the two agree bit
for bit. They also serve tests that want one copy on hand-allocated rows.

The game: each agent has one position per action dimension, starting at 0 and clamped
to [-1, 1], and a goal of -1 or +1 drawn per episode. Every observation is filled with
the goal. A continuous action moves its position by the action clamped to
±step_size; a discrete branch (two choices) moves its position by +step_size (1) or
-step_size (0). The episode ends (terminated) when every position sits at -1 or +1; the
reward is -TIME_PENALTY per step and, on the last step, the mean over positions of
SUCCESS_REWARD * position * goal. There is no step limit, as in ML-Agents.

Differences from ML-Agents, where our contract has no equivalent:
- ML-Agents hands an agent a new agent id after each episode; a slot keeps its index
  here (the stepper writes agent ids) and episode boundaries come from `terminated`.
- Goals come from the xoshiro generator of `mlagents_fast.envs.reference.rng`: brain
  name b of copy c reset with `seed` draws from `Rng(mix(behavior_seed(seed, b), c))`,
  as native copy c of behavior b does; not from a hash of the constructor arguments.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mlagents_fast.demo_io import DemonstrationMeta, DemonstrationWriter
from mlagents_fast.envs.composite import behavior_seed
from mlagents_fast.envs.python_env import PythonEnv
from mlagents_fast.envs.reference.rng import Rng, mix
from mlagents_fast.envs.vector import StepBatch, VectorEnv
from mlagents_fast.spec import (
    ActionSpec,
    ActionTuple,
    BehaviorSpec,
    DimensionProperty,
    ObservationSpec,
    ObservationType,
)

OBS_SIZE = 1
VIS_OBS_SIZE = (3, 20, 20)  # channel first
VAR_LEN_SIZE = (10, 5)  # (entities, features)
STEP_SIZE = 0.2
TIME_PENALTY = 0.01
MIN_STEPS = int(1.0 / STEP_SIZE) + 1
SUCCESS_REWARD = 1.0 + MIN_STEPS * TIME_PENALTY  # an optimal episode still returns about 1
GROUP_ID = 1  # MultiAgentEnvironment puts the agents of copy c in group GROUP_ID + c


def make_observation_specs(
    num_vector: int = 1,
    num_visual: int = 0,
    num_var_len: int = 0,
    vec_obs_size: int = OBS_SIZE,
    vis_obs_size: tuple[int, int, int] = VIS_OBS_SIZE,
    var_len_obs_size: tuple[int, int] = VAR_LEN_SIZE,
    goal_indices: Iterable[int] | None = None,
) -> tuple[ObservationSpec, ...]:
    """Vector, then visual, then variable-length observations; those at `goal_indices` are goal signals."""
    shapes: list[tuple[int, ...]] = [(vec_obs_size,)] * num_vector
    shapes += [tuple(vis_obs_size)] * num_visual + [tuple(var_len_obs_size)] * num_var_len
    goals = set(goal_indices or ())
    specs = []
    for i, shape in enumerate(shapes):
        # ML-Agents' test specs leave dimensions unspecified, except the entity axis of variable-length ones.
        dims = (
            (DimensionProperty.VARIABLE_SIZE, DimensionProperty.NONE)
            if len(shape) == 2
            else (DimensionProperty.UNSPECIFIED,) * len(shape)
        )
        kind = ObservationType.GOAL_SIGNAL if i in goals else ObservationType.DEFAULT
        specs.append(ObservationSpec(shape, dims, kind, f"observation {i} with shape {shape}"))
    return tuple(specs)


@dataclass
class _Mover:
    """One agent's game: a position per action dimension, a goal, and its episode totals."""

    positions: list[float]
    goal: int = 1
    step_count: int = 0  # position updates: ML-Agents counts one per action dimension, not per step
    episode_return: float = 0.0  # summed in double, as ML-Agents' trainer and the native driver sum it
    episode_length: int = 0

    def restart(self, rng: Rng) -> None:
        self.goal = -1 if rng.below(2) == 0 else 1
        self.positions = [0.0] * len(self.positions)
        self.step_count = 0
        self.episode_return = 0.0
        self.episode_length = 0

    def move(self, deltas: Sequence[float], step_size: float) -> bool:
        """Apply one action; True when every position reached an end."""
        for i, delta in enumerate(deltas):
            delta = min(max(delta, -step_size), step_size)
            self.positions[i] = min(max(self.positions[i] + delta, -1.0), 1.0)
            self.step_count += 1
        return all(p >= 1.0 or p <= -1.0 for p in self.positions)

    def reward(self, done: bool) -> float:
        if not done:
            return -TIME_PENALTY
        total = 0.0  # summed left to right, as the native code does (not with sum()'s compensation)
        for p in self.positions:
            total += SUCCESS_REWARD * p * self.goal / len(self.positions)
        return total


def _deltas(actions: ActionTuple, row: int) -> list[float]:
    """Continuous actions first, then one ±1 per discrete branch, as ML-Agents orders positions."""
    continuous = [float(a) for a in actions.continuous[row]] if actions.continuous.size else []
    discrete = [1.0 if d else -1.0 for d in actions.discrete[row]] if actions.discrete.size else []
    return continuous + discrete


def _fill(arrays: tuple[NDArray[np.float32], ...], row: int, value: float) -> None:
    for array in arrays:
        array[row] = value


@dataclass
class _Outcome:
    """What one agent's step wrote; shared by the single- and multi-agent environments."""

    reward: float
    done: bool
    group_reward: float = 0.0


class SimpleEnvironment(PythonEnv):
    """One agent per brain name (one behavior each) moving its positions toward a random goal.

    `action_sizes` is (continuous size, number of discrete branches of size 2).
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
        self._agents = {name: _Mover([0.0] * (continuous + discrete)) for name in self.names}

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

    def _obs_value(self, agent: _Mover) -> float:
        return float(agent.goal)

    def _start(self, name: str, batch: StepBatch, row: int, agent: _Mover) -> None:
        agent.restart(self._rngs[name])
        _fill(batch.obs, row, self._obs_value(agent))
        batch.reward[row] = 0.0
        batch.terminated[row] = batch.truncated[row] = False
        batch.group_reward[row] = 0.0
        if batch.action_mask is not None:
            batch.action_mask[row] = False

    def _write(self, name: str, batch: StepBatch, row: int, agent: _Mover, outcome: _Outcome) -> None:
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
            _fill(batch.terminal_obs, row, self._obs_value(agent))
            batch.episode_return[row] = agent.episode_return
            batch.episode_length[row] = agent.episode_length
            agent.restart(self._rngs[name])
        _fill(batch.obs, row, self._obs_value(agent))

    def reset(self, out: Mapping[str, StepBatch], seed: int | None = None) -> None:
        if seed is not None:
            self._seed(seed)
        for name in self.names:
            self._start(name, out[name], 0, self._agents[name])

    def step(self, actions: Mapping[str, ActionTuple], out: Mapping[str, StepBatch]) -> None:
        for name in self.names:
            agent = self._agents[name]
            done = agent.move(_deltas(actions[name], 0), self.step_size)
            outcome = _Outcome(agent.reward(done), done)
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

    def _obs_value(self, agent: _Mover) -> float:
        return float(agent.goal) if agent.step_count <= self.num_show_steps else 0.0


class MultiAgentEnvironment(SimpleEnvironment):
    """`num_agents` agents per brain name in one behavior and one group (group id GROUP_ID + copy).

    Each agent plays its own game, in slot order. An agent that finishes before the
    others ends its episode with reward min(-TIME_PENALTY, reward), starts its next one at
    once and sits out: ML-Agents stops asking it for decisions, while here its slot keeps
    its next episode's first observation, its actions are ignored and its reward is 0
    until the whole group has finished (`waiting(name)` tells which slots sit out). The
    agent that finishes last gets reward 0 and carries its reward as the group reward;
    then every agent plays again. Goals are drawn in the order agents finish.
    `final_rewards[name]` lists each agent's reward on the step it finished, as in ML-Agents.
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
        num_agents: int = 2,
        goal_indices: Iterable[int] | None = None,
        *,
        seed: int = 0,
        copy: int = 0,
    ) -> None:
        super().__init__(
            brain_names,
            step_size,
            num_visual,
            num_vector,
            num_var_len,
            vis_obs_size,
            vec_obs_size,
            var_len_obs_size,
            action_sizes,
            goal_indices,
            seed=seed,
            copy=copy,
        )
        self.num_agents = num_agents
        size = action_sizes[0] + action_sizes[1]
        self._groups = {name: [_Mover([0.0] * size) for _ in range(num_agents)] for name in self.names}
        self._waiting = {name: np.zeros(num_agents, np.bool_) for name in self.names}

    @property
    def agents_per_env(self) -> Mapping[str, int]:
        return {name: self.num_agents for name in self.names}

    def waiting(self, name: str) -> NDArray[np.bool_]:
        """Slots whose agent finished and waits for its group (their actions are ignored)."""
        return np.array(self._waiting[name], np.bool_)

    def goals(self, name: str) -> list[int]:
        return [agent.goal for agent in self._groups[name]]

    def optimal_actions(self, name: str) -> ActionTuple:
        goals = np.array(self.goals(name))[:, None]
        spec = self.action_spec
        return ActionTuple(
            np.repeat(goals, spec.continuous_size, axis=1).astype(np.float32),
            np.repeat(goals > 0, spec.discrete_size, axis=1).astype(np.int32),
        )

    def reset(self, out: Mapping[str, StepBatch], seed: int | None = None) -> None:
        if seed is not None:
            self._seed(seed)
        for name in self.names:
            batch = out[name]
            batch.group_id[:] = GROUP_ID + self.copy
            self._waiting[name][:] = False
            for row, agent in enumerate(self._groups[name]):
                self._start(name, batch, row, agent)

    def step(self, actions: Mapping[str, ActionTuple], out: Mapping[str, StepBatch]) -> None:
        for name in self.names:
            batch, waiting = out[name], self._waiting[name]
            for row, agent in enumerate(self._groups[name]):
                self._write(name, batch, row, agent, self._agent_outcome(name, row, agent, actions[name]))
            if waiting.all():
                waiting[:] = False  # every agent already started its next episode when it finished

    def _agent_outcome(self, name: str, row: int, agent: _Mover, actions: ActionTuple) -> _Outcome:
        waiting = self._waiting[name]
        if waiting[row]:
            return _Outcome(0.0, False)
        done = agent.move(_deltas(actions, row), self.step_size)
        reward = agent.reward(done)
        if not done:
            return _Outcome(reward, False)
        waiting[row] = True
        self.final_rewards[name].append(reward)
        if waiting.all():
            return _Outcome(0.0, True, group_reward=reward)
        return _Outcome(min(-TIME_PENALTY, reward), True)


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
    n_demos: int,
    path: str | os.PathLike[str],
    behavior: str | None = None,
    seed: int | None = None,
) -> DemonstrationMeta:
    """Play the optimal policy and write `n_demos` records of one behavior to a `.demo` file.

    `env` is a native test environment (`make("SimpleEnvironment", ...)`), a Python copy,
    or a function building either. The first agent of `behavior` (default: the first
    behavior) is recorded. A record is the observation an agent decided on, the reward
    since its previous decision and the action it took; an episode's end adds a `done`
    record with the final observation and reward (the Unity recorder's layout). Returns
    the header written.
    """
    from mlagents_fast.envs.inprocess import InProcessVectorEnv

    made = env if isinstance(env, (SimpleEnvironment, VectorEnv)) else env()
    if isinstance(made, SimpleEnvironment):
        copy = made
        vector: VectorEnv = InProcessVectorEnv(lambda: copy, 1, name=type(copy).__name__)
    else:
        vector = made
    name = behavior or next(iter(vector.behavior_specs))
    vector.reset(seed)
    policy = GoalFollower()
    batch = vector.batch(name)
    reward = 0.0  # reward reported with the next decision record
    with DemonstrationWriter(path, name, vector.behavior_specs[name]) as writer:
        while writer.number_steps < n_demos:
            for other in vector.behavior_specs:
                policy(vector, other)
            actions = vector.actions(name)
            mask = None if batch.action_mask is None else batch.action_mask[0].copy()
            action_row = (actions.continuous[0].copy(), actions.discrete[0].copy())
            writer.record([o[0] for o in batch.obs], *action_row, reward=reward, action_mask=mask)
            vector.step()
            reward = float(batch.reward[0])
            ended, truncated = bool(batch.terminated[0] or batch.truncated[0]), bool(batch.truncated[0])
            if ended and writer.number_steps < n_demos:
                final_obs = [o[0] for o in batch.terminal_obs]
                writer.record(
                    final_obs, *action_row, reward=reward, done=True, max_step_reached=truncated, action_mask=mask
                )
            if ended:
                reward = 0.0
        return writer.meta
