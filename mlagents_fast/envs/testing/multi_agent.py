"""ML-Agents' MultiAgentEnvironment as `PythonEnv` copies: several agents of one behavior in one group."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from mlagents_fast.envs.testing.game import (
    OBS_SIZE,
    STEP_SIZE,
    TIME_PENALTY,
    VAR_LEN_SIZE,
    VIS_OBS_SIZE,
    Mover,
    Outcome,
    action_deltas,
)
from mlagents_fast.envs.testing.simple import SimpleEnvironment
from mlagents_fast.envs.vector import StepBatch
from mlagents_fast.spec import ActionTuple

GROUP_ID = 1  # MultiAgentEnvironment puts the agents of copy c in group GROUP_ID + c


class MultiAgentEnvironment(SimpleEnvironment):
    """`num_agents` agents per brain name in one behavior and one group (group id GROUP_ID + copy).

    Each agent plays its own game, in slot order. An agent that finishes before the
    others ends its episode with reward min(-TIME_PENALTY, reward), starts its next one at
    once and sits out: ML-Agents stops asking it for decisions, while here its slot keeps
    its next episode's first observation, is marked `absent`, its actions are ignored and its
    reward is 0 until the whole group has finished (`waiting(name)` tells which slots sit out). The
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
        self._groups = {name: [Mover([0.0] * size) for _ in range(num_agents)] for name in self.names}
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
            if batch.absent is not None:
                batch.absent[:] = False
            for row, agent in enumerate(self._groups[name]):
                self._start(name, batch, row, agent)

    def step(self, actions: Mapping[str, ActionTuple], out: Mapping[str, StepBatch]) -> None:
        for name in self.names:
            batch, waiting = out[name], self._waiting[name]
            for row, agent in enumerate(self._groups[name]):
                self._write(name, batch, row, agent, self._agent_outcome(name, row, agent, actions[name]))
            if waiting.all():
                waiting[:] = False  # every agent already started its next episode when it finished
            if batch.absent is not None:
                batch.absent[:] = waiting

    def _agent_outcome(self, name: str, row: int, agent: Mover, actions: ActionTuple) -> Outcome:
        waiting = self._waiting[name]
        if waiting[row]:
            return Outcome(0.0, False)
        done = agent.move(action_deltas(actions, row), self.step_size)
        reward = agent.reward(done)
        if not done:
            return Outcome(reward, False)
        waiting[row] = True
        self.final_rewards[name].append(reward)
        if waiting.all():
            return Outcome(0.0, True, group_reward=reward)
        return Outcome(min(-TIME_PENALTY, reward), True)
