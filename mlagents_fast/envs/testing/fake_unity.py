"""A stand-in for a Unity player: the C# side of ML-Agents' protocol, backed by a built-in environment.

It calls `UnityToExternalProto/Exchange` on the trainer's server as Unity's communicator does:
the initialization output (name, versions, capabilities), an empty second call, then one call per
step with every agent's info: ids that change with each episode, an ended episode's final info
(`done`, `max_step_reached` when cut) before the next episode's first, agents that ask nothing on
a step left out, camera observations as PNG, the behaviors' brain parameters with their first
infos. It answers the trainer's side channels (engine configuration and environment parameters
are kept in `received`) and can send stats of its own. Run it as a "player" process:

    python -m mlagents_fast.envs.testing.fake_unity --env Basic --mlagents-port 5005 [--crash-after N]
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import grpc
import numpy as np

from mlagents_fast.communicator_objects.agent_info_pb2 import AgentInfoProto
from mlagents_fast.communicator_objects.brain_parameters_pb2 import BrainParametersProto
from mlagents_fast.communicator_objects.command_pb2 import QUIT, RESET
from mlagents_fast.communicator_objects.unity_message_pb2 import UnityMessageProto
from mlagents_fast.communicator_objects.unity_rl_initialization_output_pb2 import UnityRLInitializationOutputProto
from mlagents_fast.communicator_objects.unity_to_external_pb2_grpc import UnityToExternalProtoStub
from mlagents_fast.demonstrations.writer import observation_proto
from mlagents_fast.envs.unity.connection import API_VERSION, capabilities
from mlagents_fast.envs.unity.side_channels import (
    EngineConfigurationChannel,
    EnvironmentParametersChannel,
    IncomingMessage,
    OutgoingMessage,
    RawBytesChannel,
    SideChannelManager,
    StatsSideChannel,
)
from mlagents_fast.envs.vector import VectorEnv

PACKAGE_VERSION = "2.0.1"  # the Unity package version the stand-in claims


class FakeUnity:
    """One "player": `env` (a built-in VectorEnv) driven by the trainer over gRPC on `port`."""

    def __init__(self, env: VectorEnv, port: int, *, api_version: str = API_VERSION, compress_visual: bool = True,
                 crash_after: int | None = None, stats_every: int = 0) -> None:  # fmt: skip
        self.env, self.port, self.api_version = env, port, api_version
        self.compress_visual, self.crash_after, self.stats_every = compress_visual, crash_after, stats_every
        self.received: list[tuple[str, list[Any]]] = []  # what the trainer sent on the side channels
        self.steps = 0
        self.seed: int | None = None
        self._next_id = 0
        self._ids = {name: np.zeros(env.num_agents(name), np.int64) for name in env.behavior_specs}
        self._announced: set[str] = set()
        # The game's side of the channels: raw payloads, read (or written) here as C# would.
        self._engine = RawBytesChannel(EngineConfigurationChannel.ID)
        self._parameters = RawBytesChannel(EnvironmentParametersChannel.ID)
        self._stats = RawBytesChannel(StatsSideChannel.ID)
        self._channels = SideChannelManager([self._engine, self._parameters, self._stats])

    # ---------------------------------------------------------------- the C# side's calls
    def run(self, connect_timeout: float = 60.0) -> None:
        """Connect, play until the trainer quits or closes, then return."""
        with grpc.insecure_channel(f"localhost:{self.port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=connect_timeout)
            stub = UnityToExternalProtoStub(channel)  # type: ignore[no-untyped-call]
            init = UnityMessageProto()
            init.header.status = 200
            init.unity_output.rl_initialization_output.CopyFrom(
                UnityRLInitializationOutputProto(name="FakeUnity", communication_version=self.api_version,
                                                 package_version=PACKAGE_VERSION, capabilities=capabilities())
            )  # fmt: skip
            answer = stub.Exchange(init)
            if answer.header.status != 200:
                return
            self.seed = answer.unity_input.rl_initialization_input.seed
            empty = UnityMessageProto()
            empty.header.status = 200
            answer = stub.Exchange(empty)
            while answer.header.status == 200 and answer.unity_input.rl_input.command != QUIT:
                rl_input = answer.unity_input.rl_input
                self._read_side_channels(rl_input.side_channel)
                if rl_input.command == RESET:
                    self.env.reset(self.seed)
                    self._new_ids(all_slots=True)
                else:
                    self._apply_actions(rl_input.agent_actions)
                    self.env.step()
                    self.steps += 1
                    if self.crash_after is not None and self.steps >= self.crash_after:
                        raise SystemExit(3)  # (a player that dies mid-run, for the restart tests)
                answer = stub.Exchange(self._output())

    # ---------------------------------------------------------------- one step's messages
    def _new_ids(self, all_slots: bool = False) -> None:
        for name, ids in self._ids.items():
            done = np.ones(len(ids), np.bool_) if all_slots else self.env.batch(name).done
            for slot in np.flatnonzero(done).tolist():
                self._next_id += 1
                ids[slot] = self._next_id

    def _apply_actions(self, agent_actions: Any) -> None:
        for name in self.env.behavior_specs:
            batch, actions = self.env.batch(name), self.env.actions(name)
            asking = np.flatnonzero(~batch.absent) if batch.absent is not None else np.arange(len(batch.reward))
            listed = agent_actions[name].value if name in agent_actions else []
            if len(listed) != len(asking):
                raise RuntimeError(f"{name}: {len(listed)} actions for {len(asking)} agents that asked")
            for slot, proto in zip(asking.tolist(), listed, strict=True):
                if actions.continuous.shape[1]:
                    actions.continuous[slot] = proto.continuous_actions
                if actions.discrete.shape[1]:
                    actions.discrete[slot] = proto.discrete_actions

    def _output(self) -> UnityMessageProto:
        message = UnityMessageProto()
        message.header.status = 200
        rl_output = message.unity_output.rl_output
        ended_ids = {name: self._ids[name].copy() for name in self._ids}
        self._new_ids()
        for name, spec in self.env.behavior_specs.items():
            batch = self.env.batch(name)
            infos = rl_output.agentInfos[name].value
            for slot in np.flatnonzero(batch.done).tolist():  # the ended episodes' final infos first
                infos.append(self._info(spec, batch, slot, int(ended_ids[name][slot]), terminal=True))
            for slot in range(len(batch.reward)):
                if batch.absent is not None and batch.absent[slot]:
                    continue
                infos.append(self._info(spec, batch, slot, int(self._ids[name][slot]), terminal=False))
            if name not in self._announced:
                self._announced.add(name)
                action = spec.action_spec
                brain = BrainParametersProto(brain_name=name, is_training=True)
                brain.action_spec.num_continuous_actions = action.continuous_size
                brain.action_spec.num_discrete_actions = len(action.discrete_branches)
                brain.action_spec.discrete_branch_sizes.extend(action.discrete_branches)
                message.unity_output.rl_initialization_output.brain_parameters.append(brain)
        if self.stats_every and self.steps and self.steps % self.stats_every == 0:
            rl_output.side_channel = self._stats_message("Fake/Steps", float(self.steps))
        return message

    def _info(self, spec: Any, batch: Any, slot: int, agent_id: int, terminal: bool) -> AgentInfoProto:
        ended = bool(batch.done[slot])
        info = AgentInfoProto(id=agent_id, done=terminal, max_step_reached=terminal and bool(batch.truncated[slot]),
                              group_id=int(batch.group_id[slot]))  # fmt: skip
        # The step's reward goes to the agent whose step it was: the ended one's final info, else the agent.
        info.reward = float(batch.reward[slot]) if terminal or not ended else 0.0
        info.group_reward = float(batch.group_reward[slot]) if terminal or not ended else 0.0
        planes = batch.terminal_obs if terminal else batch.obs
        for plane, observation in zip(planes, spec.observation_specs, strict=True):
            value = plane[slot].astype(np.float32) / (255.0 if observation.dtype == "uint8" else 1.0)
            info.observations.append(observation_proto(value, observation, self.compress_visual))
        if batch.action_mask is not None and not terminal:
            info.action_mask.extend(batch.action_mask[slot].tolist())
        return info

    def _read_side_channels(self, data: bytes) -> None:
        """What the trainer sent, through the same framing the trainer uses, kept decoded."""
        self._channels.process_side_channel_message(data)
        for payload in self._engine.get_and_clear_received_messages():
            message = IncomingMessage(payload)
            kind = message.read_int32()
            values: list[Any] = [message.read_float32()] if kind == 2 else []  # (2: the time scale, a float)
            while message.offset < len(message.data):
                values.append(message.read_int32())
            self.received.append(("engine", [kind, *values]))
        for payload in self._parameters.get_and_clear_received_messages():
            message = IncomingMessage(payload)
            key, data_type = message.read_string(), message.read_int32()
            values = [message.read_float32()] if data_type == 0 else [message.read_int32(), message.read_int32()]
            while data_type and message.offset < len(message.data):
                values.append(message.read_float32())
            self.received.append((f"parameter {key}", values))

    def _stats_message(self, key: str, value: float) -> bytes:
        message = OutgoingMessage()
        message.write_string(key)
        message.write_float32(value)
        message.write_int32(0)  # AVERAGE
        self._stats.send_raw_data(bytes(message.buffer))
        return self._channels.generate_side_channel_messages()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="Basic", help="the built-in environment behind the stand-in")
    parser.add_argument("--num-copies", type=int, default=1)
    parser.add_argument("--mlagents-port", type=int, default=5004)
    parser.add_argument("--api-version", default=API_VERSION)
    parser.add_argument("--crash-after", type=int, default=None)
    parser.add_argument("--stats-every", type=int, default=0, help="send the step count as a game stat this often")
    args, _ = parser.parse_known_args(argv)  # (a player ignores the arguments it does not know)
    from mlagents_fast.envs.registry import make

    env = make(args.env, args.num_copies, seed=0)
    try:
        FakeUnity(env, args.mlagents_port, api_version=args.api_version, crash_after=args.crash_after,
                  stats_every=args.stats_every).run()  # fmt: skip
    finally:
        env.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
