"""The `.demo` file format: its layout, and what a demonstration reads into.

Layout (what Unity's DemonstrationWriter and ML-Agents' demo_loader agree on); every message
(communicator_objects/*.proto) is prefixed with its varint length:

    offset 0   DemonstrationMetaProto {api_version=1, demonstration_name=2, number_steps=3,
               number_episodes=4, mean_reward=5}, zero-padded up to byte 33 so the writer
               can rewrite it once the totals are known
    offset 33  BrainParametersProto {brain_name=7, is_training=8, action_spec=9, ...}
    then       number_steps x AgentInfoActionPairProto {agent_info=1, action_info=2}

One record is what one agent saw when it decided (AgentInfoProto) and the action it took
(AgentActionProto). The record of an episode's end has `done` set, its final observation
and reward, and the last action taken. The behavior spec is rebuilt from the brain
parameters and the first record's observations, as ML-Agents does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mlagents_fast.spec import BehaviorSpec

INITIAL_POS = 33  # where the body starts: the meta message (with its length byte) fits in front of it
API_VERSION = 1
SUPPORTED_API_VERSIONS = frozenset({0, 1})
MAX_NAME_LENGTH = 16  # Unity trims demonstration names to this length


class DemonstrationError(ValueError):
    """A `.demo` file that cannot be read, or data that cannot be written as one."""


@dataclass(frozen=True)
class DemonstrationMeta:
    name: str = ""
    number_steps: int = 0
    number_episodes: int = 0
    mean_reward: float = 0.0
    api_version: int = API_VERSION


@dataclass(frozen=True)
class Demonstration:
    """Every record of a demonstration as arrays whose first axis is the record index.

    `rewards[i]` is the reward the agent got for the decision *before* record i (as the
    agent reported it when deciding), `dones[i]` marks the record of an episode's end and
    `max_step_reached[i]` an end by the step limit. `action_masks` is True where a
    choice was not allowed, or None for behaviors without discrete actions.
    """

    behavior_name: str
    spec: BehaviorSpec
    meta: DemonstrationMeta
    obs: tuple[NDArray[np.float32], ...]
    continuous_actions: NDArray[np.float32]
    discrete_actions: NDArray[np.int32]
    rewards: NDArray[np.float32]
    dones: NDArray[np.bool_]
    max_step_reached: NDArray[np.bool_]
    agent_ids: NDArray[np.int32]
    action_masks: NDArray[np.bool_] | None
    group_ids: NDArray[np.int32]
    group_rewards: NDArray[np.float32]

    def __len__(self) -> int:
        return int(self.rewards.shape[0])
