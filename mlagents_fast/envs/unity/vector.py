"""Unity environments (builds or the Editor) as one VectorEnv: the trainers see Unity's agents in
the same batched arrays the native environments fill, one forward per step for all of them.

Each Unity process has its connection (connection.py) and its side channels; a step answers every
process's waiting call with its actions first and then reads every output, so the processes step
in parallel. Behaviors and their slots come from the first reset (agents.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mlagents_fast.communicator_objects.command_pb2 import QUIT, RESET, STEP
from mlagents_fast.communicator_objects.unity_message_pb2 import UnityMessageProto
from mlagents_fast.communicator_objects.unity_output_pb2 import UnityOutputProto
from mlagents_fast.demonstrations.reader import action_spec_from_proto, observation_spec_from_proto
from mlagents_fast.envs.parameters import Sampler
from mlagents_fast.envs.unity.agents import AgentSlots
from mlagents_fast.envs.unity.connection import UnityCommunicationError, UnityConnection, new_answer
from mlagents_fast.envs.unity.side_channels import (
    EngineConfigurationChannel,
    EnvironmentParametersChannel,
    SideChannel,
    SideChannelManager,
    StatsSideChannel,
    TrainingAnalyticsChannel,
)
from mlagents_fast.envs.vector import EnvError, StepBatch, VectorEnv
from mlagents_fast.run.stats import StatsAggregationMethod
from mlagents_fast.spec import ActionTuple, BehaviorSpec

logger = logging.getLogger(__name__)
MAX_SILENT_OUTPUTS = 100  # outputs where no agent asks that one step may join (then it goes on all absent)


class UnityProcessChannels:
    """The side channels of one Unity process: ML-Agents' standard ones and the user's."""

    def __init__(self, extra: Sequence[SideChannel] = ()) -> None:
        self.engine = EngineConfigurationChannel()
        self.parameters = EnvironmentParametersChannel()
        self.stats = StatsSideChannel()
        self.manager = SideChannelManager([self.engine, self.parameters, self.stats, TrainingAnalyticsChannel(),
                                           *extra])  # fmt: skip


def _send_parameter(channel: EnvironmentParametersChannel, key: str, value: Any) -> None:
    if isinstance(value, int | float):
        channel.set_float_parameter(key, float(value))
    elif isinstance(value, Sampler) and value.kind == "constant":
        channel.set_float_parameter(key, value.intervals[0][0])
    elif isinstance(value, Sampler) and value.kind == "uniform":
        channel.set_uniform_sampler_parameters(key, *value.intervals[0], seed=value.seed)
    elif isinstance(value, Sampler) and value.kind == "gaussian":
        channel.set_gaussian_sampler_parameters(key, *value.intervals[0], seed=value.seed)
    elif isinstance(value, Sampler) and value.kind == "multirangeuniform":
        channel.set_multirangeuniform_sampler_parameters(key, value.intervals, seed=value.seed)
    else:
        raise EnvError(f"Environment parameter {key!r}: expected a number or a sampler; got {value!r}.")


def _specs_of(output: UnityOutputProto) -> dict[str, BehaviorSpec]:
    """The behaviors announced in `output`, their observation shapes from their first infos."""
    specs = {}
    infos = output.rl_output.agentInfos
    for brain in output.rl_initialization_output.brain_parameters:
        listed = infos[brain.brain_name].value if brain.brain_name in infos else []
        if not listed:
            raise EnvError(f"Unity announced the behavior {brain.brain_name!r} without an agent of it; its "
                           "observations cannot be known")  # fmt: skip
        observations = tuple(observation_spec_from_proto(o) for o in listed[0].observations)
        specs[brain.brain_name] = BehaviorSpec(observations, action_spec_from_proto(brain))
    return specs


class UnityVectorEnv(VectorEnv):
    def __init__(self, connections: Sequence[UnityConnection], *, seed: int = 0, num_areas: int = 1,
                 channels: Sequence[UnityProcessChannels] | None = None, name: str = "unity",
                 restart: Callable[[int, str], UnityConnection] | None = None) -> None:  # fmt: skip
        """`connections`: one per Unity process, not yet initialized (the handshake runs here, then a
        first reset that tells the behaviors and their agents). `restart(k, reason)`: a new connection
        to process k after it failed (raises when it may not be restarted); None: a failure ends the run."""
        self.name, self.num_envs = name, len(connections)
        self.seed, self.num_areas, self._restart = seed, num_areas, restart
        self._parameters: dict[str, Any] = {}
        self._restarted: set[int] = set()
        self.connections = list(connections)
        self.channels = list(channels) if channels is not None else [UnityProcessChannels() for _ in connections]
        self._specs: dict[str, BehaviorSpec] = {}
        self._slots: dict[str, AgentSlots] = {}
        self._closed = False
        try:
            for connection in self.connections:
                connection.initialize(seed, num_areas)
            outputs = self._exchange_all([self._input(RESET, k) for k in range(self.num_envs)])
            self._allocate(outputs)
            self._read(outputs)
        except BaseException:
            self.close()
            raise

    # ---------------------------------------------------------------- the contract
    @property
    def behavior_specs(self) -> Mapping[str, BehaviorSpec]:
        return self._specs

    def batch(self, behavior: str) -> StepBatch:
        self._check_behavior(behavior)
        return self._slots[behavior].batch

    def actions(self, behavior: str) -> ActionTuple:
        self._check_behavior(behavior)
        return self._slots[behavior].actions

    def reset(self, seed: int | None = None) -> None:
        for slots in self._slots.values():
            for k in range(self.num_envs):
                slots.forget_agents(k)
        self._read(self._exchange_all([self._input(RESET, k) for k in range(self.num_envs)]))

    def step(self) -> None:
        answers = []
        for k in range(self.num_envs):
            answer = self._input(STEP, k)
            agent_actions = answer.unity_input.rl_input.agent_actions
            for behavior, slots in self._slots.items():
                if slots.order[k]:
                    slots.write_actions(k, agent_actions[behavior].value)
            answers.append(answer)
        self._read(self._exchange_all(answers))
        for k in range(self.num_envs):
            # An output where no agent asks (only episodes that ended between decisions: Unity sends
            # them at once) is not a step of its own: the next output, where agents ask, joins it, so
            # that agents sharing a decision period never sit a step out (ML-Agents has no such step).
            for _ in range(MAX_SILENT_OUTPUTS):
                if any(slots.order[k] for slots in self._slots.values()):
                    break
                self._read_process(k, self._exchange_one(k, self._input(STEP, k)), fresh=False)

    def set_parameters(self, parameters: Mapping[str, Any]) -> None:
        """Constants and samplers over the environment-parameters channel, as ML-Agents sends them (a
        sampler without a seed takes the run's seed plus its place); the game reads them at its next
        episode."""
        for place, (key, value) in enumerate(parameters.items()):
            self._parameters[key] = value if not isinstance(value, Sampler) or value.seed != -1 else Sampler(
                value.kind, value.intervals, self.seed + place)  # fmt: skip
            for channels in self.channels:
                _send_parameter(channels.parameters, key, self._parameters[key])

    def game_stats(self) -> dict[str, list[tuple[float, StatsAggregationMethod]]]:
        """The stats the games recorded since the last call (C#'s StatsRecorder), for TensorBoard:
        every process's, except that a most-recent value is the first process's (as ML-Agents keeps
        several players from overwriting each other's)."""
        merged: dict[str, list[tuple[float, StatsAggregationMethod]]] = {}
        for k, channels in enumerate(self.channels):
            for key, values in channels.stats.get_and_reset_stats().items():
                kept = [v for v in values if k == 0 or v[1] != StatsAggregationMethod.MOST_RECENT]
                if kept:
                    merged.setdefault(key, []).extend(kept)
        return merged

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for connection in self.connections:
            try:
                if not connection.closed:
                    connection.close()
            except Exception as error:  # (closing goes on for the other processes)
                logger.warning(f"Closing the Unity connection on port {connection.port}: {error}")

    def quit(self) -> None:
        """Ask every Unity process to quit (ML-Agents' QUIT command), then close."""
        for k, connection in enumerate(self.connections):
            if not connection.closed:
                connection.send_last(self._input(QUIT, k))
        self.close()

    # ---------------------------------------------------------------- the exchange
    def _input(self, command: int, process: int) -> UnityMessageProto:
        """The answer to process `process`'s waiting call: `command` and the queued side-channel messages."""
        answer = new_answer()
        rl_input = answer.unity_input.rl_input
        rl_input.command = command  # type: ignore[assignment]
        rl_input.side_channel = self.channels[process].manager.generate_side_channel_messages()
        return answer

    def _exchange_all(self, inputs: list[UnityMessageProto]) -> list[UnityOutputProto]:
        """Every process's output for its input; a process that fails is restarted (its episodes
        end as interrupted, `_read` says so) and answers a reset instead."""
        return [self._exchange_one(k, unity_input) for k, unity_input in enumerate(inputs)]

    def _exchange_one(self, k: int, answer: UnityMessageProto) -> UnityOutputProto:
        try:
            return self.connections[k].exchange(answer)
        except UnityCommunicationError as error:
            return self._restarted_output(k, str(error))

    def _restarted_output(self, k: int, reason: str) -> UnityOutputProto:
        if self._restart is None or self._closed:
            raise EnvError(f"Environment {self.name!r}: {reason}")
        try:
            self.connections[k].close()
            self.connections[k] = self._restart(k, reason)
            self.connections[k].initialize(self.seed, self.num_areas)
            for key, value in self._parameters.items():  # (the new process hears the parameters again)
                _send_parameter(self.channels[k].parameters, key, value)
            output = self.connections[k].exchange(self._input(RESET, k))
        except UnityCommunicationError as error:
            raise EnvError(f"Environment {self.name!r}: {error}") from None
        self._restarted.add(k)
        return output

    def _allocate(self, outputs: list[UnityOutputProto]) -> None:
        """The behaviors (every process's must agree) and, per process, as many slots as agents."""
        for k, output in enumerate(outputs):
            for behavior, spec in _specs_of(output).items():
                if behavior in self._specs and self._specs[behavior] != spec:
                    raise EnvError(f"Unity process {k} describes behavior {behavior!r} differently from process 0 "
                                   f"({spec} against {self._specs[behavior]})")  # fmt: skip
                self._specs[behavior] = spec
        if not self._specs:
            raise EnvError("Unity's first step showed no behavior: no agent asked for a decision. Make sure the scene "
                           "has Agents whose Behavior Type is Default.")  # fmt: skip
        for behavior, spec in self._specs.items():
            counts = []
            for output in outputs:
                infos = output.rl_output.agentInfos
                listed = infos[behavior].value if behavior in infos else []
                counts.append(max(len({info.id for info in listed if not info.done}), 1))
            self._slots[behavior] = AgentSlots(behavior, spec, counts)

    def _read(self, outputs: list[UnityOutputProto]) -> None:
        for k, output in enumerate(outputs):
            self._read_process(k, output, fresh=True)

    def _read_process(self, k: int, output: UnityOutputProto, fresh: bool) -> None:
        """Process k's output into the batch; `fresh`: it starts the step (else it joins the output
        read before it, whose ends it keeps)."""
        self.channels[k].manager.process_side_channel_message(output.rl_output.side_channel)
        announced = {brain.brain_name for brain in output.rl_initialization_output.brain_parameters}
        unknown = announced - set(self._slots)
        if unknown:
            raise EnvError(f"Unity process {k} announced the behavior(s) {sorted(unknown)} after the first step; "
                           "every behavior must have agents when the scene starts.")  # fmt: skip
        infos = output.rl_output.agentInfos
        restarted = k in self._restarted
        for behavior, slots in self._slots.items():
            if fresh:
                slots.begin_step(k)
            if restarted:  # the failed process's episodes end, interrupted; its new agents follow
                slots.interrupt_all(k)
            if behavior in infos:
                try:
                    slots.read(k, list(infos[behavior].value))
                except EnvError as error:
                    raise EnvError(f"Environment {self.name!r}: {error}.") from None
        self._restarted.discard(k)
