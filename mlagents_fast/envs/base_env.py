"""ML-Agents' `BaseEnv` interface over any VectorEnv, for scripts written against `mlagents_envs`.

`get_steps` returns DecisionSteps / TerminalSteps with ML-Agents' fields and Mapping
behaviour (by agent id). Every agent requests a decision on every step, so
DecisionSteps holds every slot, as views of the stepper's arrays; TerminalSteps holds
the agents whose episode ended on the last step (an agent can be in both). As in
ML-Agents, an ended episode's final reward and group reward are in TerminalSteps only:
DecisionSteps then holds copies of the reward arrays with 0 on the new episodes' rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mlagents_fast.envs.vector import StepBatch, VectorEnv
from mlagents_fast.spec import ActionError, ActionTuple, BehaviorSpec

AgentId = int
GroupId = int
BehaviorName = str


@dataclass(frozen=True)
class DecisionStep:
    obs: list[NDArray[np.float32]]
    reward: float
    agent_id: AgentId
    action_mask: list[NDArray[np.bool_]] | None
    group_id: GroupId
    group_reward: float


@dataclass(frozen=True)
class TerminalStep:
    obs: list[NDArray[np.float32]]
    reward: float
    interrupted: bool
    agent_id: AgentId
    group_id: GroupId
    group_reward: float


class _Steps:
    agent_id: NDArray[np.int32]

    def __len__(self) -> int:
        return len(self.agent_id)

    def __iter__(self) -> Iterator[AgentId]:
        yield from (int(i) for i in self.agent_id)

    @property
    def agent_id_to_index(self) -> dict[AgentId, int]:
        return {int(agent): index for index, agent in enumerate(self.agent_id)}

    def _index(self, agent_id: AgentId) -> int:
        index = self.agent_id_to_index.get(agent_id)
        if index is None:
            raise KeyError(f"agent_id {agent_id} is not present in this {type(self).__name__}")
        return index


class DecisionSteps(_Steps, Mapping[AgentId, DecisionStep]):
    """The agents that request a decision; `action_mask` is one (n, branch size) array per branch."""

    def __init__(
        self,
        obs: list[NDArray[np.float32]],
        reward: NDArray[np.float32],
        agent_id: NDArray[np.int32],
        action_mask: list[NDArray[np.bool_]] | None,
        group_id: NDArray[np.int32],
        group_reward: NDArray[np.float32],
    ) -> None:
        self.obs, self.reward, self.agent_id = obs, reward, agent_id
        self.action_mask, self.group_id, self.group_reward = action_mask, group_id, group_reward

    def __getitem__(self, agent_id: AgentId) -> DecisionStep:
        i = self._index(agent_id)
        mask = None if self.action_mask is None else [branch[i] for branch in self.action_mask]
        return DecisionStep(
            [o[i] for o in self.obs], float(self.reward[i]), agent_id, mask, int(self.group_id[i]),
            float(self.group_reward[i]),
        )  # fmt: skip

    @staticmethod
    def empty(spec: BehaviorSpec) -> DecisionSteps:
        obs = [np.zeros((0, *o.shape), np.float32) for o in spec.observation_specs]
        return DecisionSteps(obs, np.zeros(0, np.float32), np.zeros(0, np.int32), None, np.zeros(0, np.int32),
                             np.zeros(0, np.float32))  # fmt: skip


class TerminalSteps(_Steps, Mapping[AgentId, TerminalStep]):
    """The agents whose episode ended; `interrupted` is True when it was cut by max step."""

    def __init__(
        self,
        obs: list[NDArray[np.float32]],
        reward: NDArray[np.float32],
        interrupted: NDArray[np.bool_],
        agent_id: NDArray[np.int32],
        group_id: NDArray[np.int32],
        group_reward: NDArray[np.float32],
    ) -> None:
        self.obs, self.reward, self.interrupted, self.agent_id = obs, reward, interrupted, agent_id
        self.group_id, self.group_reward = group_id, group_reward

    def __getitem__(self, agent_id: AgentId) -> TerminalStep:
        i = self._index(agent_id)
        return TerminalStep(
            [o[i] for o in self.obs], float(self.reward[i]), bool(self.interrupted[i]), agent_id,
            int(self.group_id[i]), float(self.group_reward[i]),
        )  # fmt: skip

    @staticmethod
    def empty(spec: BehaviorSpec) -> TerminalSteps:
        obs = [np.zeros((0, *o.shape), np.float32) for o in spec.observation_specs]
        return TerminalSteps(obs, np.zeros(0, np.float32), np.zeros(0, np.bool_), np.zeros(0, np.int32),
                             np.zeros(0, np.int32), np.zeros(0, np.float32))  # fmt: skip


class BaseEnv:
    """`mlagents_envs.base_env.BaseEnv` over a VectorEnv: step(), reset(), close(),
    behavior_specs, get_steps(), set_actions(), set_action_for_agent()."""

    def __init__(self, env: VectorEnv) -> None:
        self.env = env
        self._stepped = False

    @property
    def behavior_specs(self) -> Mapping[BehaviorName, BehaviorSpec]:
        return self.env.behavior_specs

    def reset(self) -> None:
        self.env.reset()
        self._stepped = False

    def step(self) -> None:
        self.env.step()
        self._stepped = True

    def close(self) -> None:
        self.env.close()

    def get_steps(self, behavior_name: BehaviorName) -> tuple[DecisionSteps, TerminalSteps]:
        batch = self.env.batch(behavior_name)
        spec = self.env.behavior_specs[behavior_name]
        masks = None
        if batch.action_mask is not None:
            edges = np.cumsum(spec.action_spec.discrete_branches)[:-1]
            masks = np.split(batch.action_mask, edges, axis=1)
        reward, group_reward = batch.reward, batch.group_reward
        ended = np.flatnonzero(batch.done) if self._stepped else np.zeros(0, np.intp)
        if ended.size:
            # The stepper's reward rows of an ended episode hold its final rewards; ML-Agents reports
            # those in TerminalSteps only, and the new episode's first decision with 0.
            reward, group_reward = reward.copy(), group_reward.copy()
            reward[ended] = group_reward[ended] = 0.0
        asking = self._asking(batch)
        if asking is None:
            decisions = DecisionSteps(list(batch.obs), reward, batch.agent_id, masks, batch.group_id,
                                      group_reward)  # fmt: skip
        else:  # agents that sit out this step ask for no decision, as ML-Agents leaves them out
            decisions = DecisionSteps([o[asking] for o in batch.obs], reward[asking], batch.agent_id[asking],
                                      None if masks is None else [m[asking] for m in masks],
                                      batch.group_id[asking], group_reward[asking])  # fmt: skip
        if not self._stepped:
            return decisions, TerminalSteps.empty(spec)
        terminals = TerminalSteps(
            [o[ended] for o in batch.terminal_obs], batch.reward[ended], batch.truncated[ended],
            batch.agent_id[ended], batch.group_id[ended], batch.group_reward[ended],
        )  # fmt: skip
        return decisions, terminals

    def set_actions(self, behavior_name: BehaviorName, action: ActionTuple) -> None:
        spec = self.env.behavior_specs[behavior_name]
        target = self.env.actions(behavior_name)
        asking = self._asking(self.env.batch(behavior_name))
        if asking is None:
            spec.action_spec.validate(action, target.continuous.shape[0], behavior_name)
            target.continuous[...] = action.continuous
            target.discrete[...] = action.discrete
        else:  # one row per agent of the DecisionSteps
            spec.action_spec.validate(action, len(asking), behavior_name)
            target.continuous[asking] = action.continuous
            target.discrete[asking] = action.discrete

    @staticmethod
    def _asking(batch: StepBatch) -> NDArray[np.intp] | None:
        """The slots that ask for a decision, or None when every one does."""
        if batch.absent is None or not batch.absent.any():
            return None
        return np.flatnonzero(~batch.absent)

    def set_action_for_agent(self, behavior_name: BehaviorName, agent_id: AgentId, action: ActionTuple) -> None:
        spec = self.env.behavior_specs[behavior_name]
        matches = np.flatnonzero(self.env.batch(behavior_name).agent_id == agent_id)
        if matches.size == 0:
            raise ActionError(f"Behavior {behavior_name!r} has no agent with id {agent_id}.")
        index = int(matches[0])
        spec.action_spec.validate(action, 1, behavior_name)
        target = self.env.actions(behavior_name)
        target.continuous[index] = action.continuous[0]
        target.discrete[index] = action.discrete[0]
