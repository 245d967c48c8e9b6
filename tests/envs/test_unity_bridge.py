"""The Unity bridge (envs/unity/) against a stand-in Unity (envs/testing/fake_unity.py) that speaks
the C# side of ML-Agents' protocol: the handshake, the steps of a built-in environment through it
exactly as the environment steps them natively (vector and PNG camera observations, ids that
change per episode, terminal infos, agents that ask nothing), several processes at once, the
version check, a Unity that never connects, and the side channels both ways."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest

from mlagents_fast.envs.registry import make
from mlagents_fast.envs.testing.fake_unity import FakeUnity
from mlagents_fast.envs.unity.connection import UnityCommunicationError, UnityConnection
from mlagents_fast.envs.unity.side_channels import (
    EngineConfigurationChannel,
    EnvironmentParametersChannel,
    FloatPropertiesChannel,
    IncomingMessage,
    OutgoingMessage,
    RawBytesChannel,
    SideChannelManager,
    StatsSideChannel,
)
from mlagents_fast.envs.unity.vector import UnityVectorEnv
from mlagents_fast.envs.vector import EnvError
from mlagents_fast.run.stats import StatsAggregationMethod


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return int(probe.getsockname()[1])


@contextmanager
def bridged(name: str, copies: int, seed: int, processes: int = 1, made: dict[str, object] | None = None,
            **fake_options: object) -> Iterator[tuple[UnityVectorEnv, list[FakeUnity]]]:  # fmt: skip
    """`processes` stand-in players, each `copies` copies of built-in `name` (made with `made`), and
    the bridge to them."""
    fakes, threads, connections = [], [], []
    for _ in range(processes):
        port = free_port()
        connections.append(UnityConnection(port, timeout_wait=30))
        fakes.append(FakeUnity(make(name, copies, seed=0, **(made or {})), port, **fake_options))  # type: ignore[arg-type]
        threads.append(threading.Thread(target=fakes[-1].run, daemon=True))
        threads[-1].start()
    env = UnityVectorEnv(connections, seed=seed)
    try:
        yield env, fakes
    finally:
        env.quit()
        for thread, fake in zip(threads, fakes, strict=True):
            thread.join(10)
            fake.env.close()


HYBRID_GOAL_ENTITIES = {
    "action_sizes": (1, 2),
    "num_vector": 1,
    "num_var_len": 1,
    "goal_indices": [0],
    "step_size": 0.5,
}


@pytest.mark.parametrize(("name", "copies", "steps", "made"),
                         [("3DBall", 2, 300, {}), ("GridWorld", 2, 60, {}), ("MultiAgentEnvironment", 1, 150, {}),
                          ("SimpleEnvironment", 2, 100, HYBRID_GOAL_ENTITIES)])  # fmt: skip
def test_a_built_in_environment_steps_through_the_bridge_as_natively(name: str, copies: int, steps: int,
                                                                     made: dict[str, object]) -> None:  # fmt: skip
    """Observations (GridWorld's camera as PNG), rewards, ends, final observations and returns
    equal the native environment's, stepped with the same seed and actions (MultiAgentEnvironment's
    early finishers ask nothing until their group ends; one group, so a new agent's slot is known;
    SimpleEnvironment with hybrid actions, a goal signal and variable-length observations, whose
    specs arrive as the native ones)."""
    native = make(name, copies, seed=0, **made)  # type: ignore[arg-type]
    native.reset(11)
    rng = np.random.default_rng(0)
    with bridged(name, copies, seed=11, made=made) as (env, _):
        assert dict(env.behavior_specs).keys() == dict(native.behavior_specs).keys()
        for behavior, spec in native.behavior_specs.items():
            ours_spec = env.behavior_specs[behavior]
            assert ours_spec.action_spec == spec.action_spec
            assert [(o.shape, o.observation_type, o.dimension_property) for o in ours_spec.observation_specs] == [
                (o.shape, o.observation_type, o.dimension_property) for o in spec.observation_specs]  # fmt: skip
        for behavior in native.behavior_specs:
            ours, theirs = env.batch(behavior), native.batch(behavior)
            np.testing.assert_allclose(ours.obs[0], theirs.obs[0], atol=1 / 255)
        saw_end = saw_absent = False
        for _ in range(steps):
            for behavior, spec in native.behavior_specs.items():
                action = spec.action_spec
                ours, theirs = env.actions(behavior), native.actions(behavior)
                if action.continuous_size:
                    theirs.continuous[...] = rng.uniform(-1, 1, theirs.continuous.shape)
                    ours.continuous[...] = theirs.continuous
                mask = native.batch(behavior).action_mask
                start = 0
                for b, size in enumerate(action.discrete_branches):  # a random choice the mask allows
                    rows = len(ours.discrete)
                    allowed = ~mask[:, start : start + size] if mask is not None else np.ones((rows, size), np.bool_)
                    scores = rng.uniform(size=allowed.shape) * allowed
                    theirs.discrete[:, b] = scores.argmax(axis=1)
                    ours.discrete[:, b] = theirs.discrete[:, b]
                    start += size
            env.step()
            native.step()
            for behavior in native.behavior_specs:
                ours, theirs = env.batch(behavior), native.batch(behavior)
                done = theirs.done
                absent = theirs.absent if theirs.absent is not None else np.zeros(len(done), np.bool_)
                np.testing.assert_array_equal(ours.absent, absent)
                np.testing.assert_array_equal(ours.terminated, theirs.terminated)
                np.testing.assert_array_equal(ours.truncated, theirs.truncated)
                np.testing.assert_allclose(ours.reward, theirs.reward, atol=1e-6)
                for o, t in zip(ours.obs, theirs.obs, strict=True):
                    np.testing.assert_allclose(o[~absent], t[~absent], atol=1 / 255)
                if done.any():
                    saw_end = True
                    np.testing.assert_allclose(ours.terminal_obs[0][done], theirs.terminal_obs[0][done], atol=1 / 255)
                    np.testing.assert_allclose(ours.episode_return[done], theirs.episode_return[done], atol=1e-4)
                saw_absent |= bool(absent.any())
        assert saw_end
        assert saw_absent == (name == "MultiAgentEnvironment")
    native.close()


def test_several_processes_step_as_one_batch() -> None:
    with bridged("3DBall", 1, seed=3, processes=2) as (env, fakes):
        assert env.num_agents("3DBall") == 2 * fakes[0].env.num_agents("3DBall")
        batch = env.batch("3DBall")
        for _ in range(30):
            env.step()
        assert all(fake.steps == 30 for fake in fakes) and not batch.absent.any()


def test_agent_ids_change_per_episode_and_keep_their_slot_meanwhile() -> None:
    with bridged("3DBall", 1, seed=5) as (env, _):
        batch = env.batch("3DBall")
        before = batch.agent_id.copy()
        while not batch.done.any():
            env.step()
        ended = batch.done
        assert (batch.agent_id[ended] != before[ended]).all() and (batch.agent_id[~ended] == before[~ended]).all()


def test_another_major_api_version_is_refused_with_ml_agents_message() -> None:
    port = free_port()
    connection = UnityConnection(port, timeout_wait=30)
    fake = FakeUnity(make("Basic", 1, seed=0), port, api_version="2.0.0")
    thread = threading.Thread(target=fake.run, daemon=True)
    thread.start()
    with pytest.raises(EnvError, match="The communication API version is not compatible between Unity and python"):
        try:
            UnityVectorEnv([connection])
        except UnityCommunicationError as error:
            raise EnvError(str(error)) from None
    thread.join(10)
    fake.env.close()


def test_a_unity_that_never_connects_times_out_with_a_clear_error() -> None:
    connection = UnityConnection(free_port(), timeout_wait=0.5)
    with pytest.raises(UnityCommunicationError, match=r"took too long to respond \(0.5 s.*Behavior Type"):
        UnityVectorEnv([connection])


def test_a_port_in_use_is_named() -> None:
    port = free_port()
    first = UnityConnection(port, timeout_wait=1)
    try:
        with pytest.raises(UnityCommunicationError, match=f"Port {port} is in use"):
            UnityConnection(port, timeout_wait=1)
    finally:
        first.close()


def test_side_channels_reach_the_game_and_its_stats_come_back() -> None:
    with bridged("3DBall", 1, seed=1, stats_every=5) as (env, fakes):
        env.channels[0].engine.set_configuration_parameters(width=84, height=84, quality_level=5, time_scale=20.0,
                                                            target_frame_rate=-1, capture_frame_rate=60)  # fmt: skip
        env.set_parameters({"mass": 2.5})
        for _ in range(10):
            env.step()
        received = fakes[0].received
        assert ("engine", [0, 84, 84]) in received and ("engine", [2, 20.0]) in received
        assert ("engine", [1, 5]) in received and ("engine", [3, -1]) in received and ("engine", [4, 60]) in received
        assert ("parameter mass", [2.5]) in received
        assert env.game_stats() == {"Fake/Steps": [(5.0, StatsAggregationMethod.AVERAGE),
                                                   (10.0, StatsAggregationMethod.AVERAGE)]}  # fmt: skip


def test_every_side_channel_round_trips() -> None:
    """Each channel's messages, framed, read back by a manager holding the same channels."""
    raw_id = __import__("uuid").uuid4()
    sender_raw, receiver_raw = RawBytesChannel(raw_id), RawBytesChannel(raw_id)
    sender_floats, receiver_floats = FloatPropertiesChannel(), FloatPropertiesChannel()
    sender_raw.send_raw_data(b"\x00\x01hello")
    sender_floats.set_property("gravity", -9.5)
    sent = SideChannelManager([sender_raw, sender_floats]).generate_side_channel_messages()
    SideChannelManager([receiver_raw, receiver_floats]).process_side_channel_message(sent)
    assert receiver_raw.get_and_clear_received_messages() == [b"\x00\x01hello"]
    assert receiver_floats.get_property("gravity") == -9.5

    parameters = EnvironmentParametersChannel()
    parameters.set_uniform_sampler_parameters("size", 1.0, 2.0, seed=7)
    parameters.set_gaussian_sampler_parameters("mass", 3.0, 0.5, seed=8)
    parameters.set_multirangeuniform_sampler_parameters("gap", [[0.0, 1.0], [2.0, 3.0]], seed=9)
    read = [IncomingMessage(m) for m in parameters.queued]
    assert [(m.read_string(), m.read_int32(), m.read_int32(), m.read_int32()) for m in read] == [
        ("size", 1, 7, 0), ("mass", 1, 8, 1), ("gap", 1, 9, 2)]  # fmt: skip
    assert (read[0].read_float32(), read[0].read_float32()) == (1.0, 2.0)
    assert read[2].read_float32_list() == [0.0, 1.0, 2.0, 3.0]

    stats = StatsSideChannel()
    message = OutgoingMessage()
    message.write_string("Game/Score")
    message.write_float32(4.0)
    message.write_int32(int(StatsAggregationMethod.MOST_RECENT))
    stats.on_message_received(IncomingMessage(bytes(message.buffer)))
    assert stats.get_and_reset_stats() == {"Game/Score": [(4.0, StatsAggregationMethod.MOST_RECENT)]}
    assert stats.get_and_reset_stats() == {}

    engine = EngineConfigurationChannel()
    engine.set_configuration_parameters(width=80)  # (a resolution needs both sides)
    assert engine.queued == []


def test_a_cut_short_side_channel_message_is_a_clear_error() -> None:
    from mlagents_fast.envs.unity.side_channels import SideChannelError

    manager = SideChannelManager([StatsSideChannel()])
    framed = StatsSideChannel.ID.bytes_le + (100).to_bytes(4, "little") + b"short"
    with pytest.raises(SideChannelError, match="claims 100 bytes"):
        manager.process_side_channel_message(framed)


def test_nan_in_an_observation_or_a_reward_is_refused() -> None:
    from mlagents_fast.communicator_objects.agent_info_pb2 import AgentInfoProto
    from mlagents_fast.envs.unity.agents import AgentSlots
    from mlagents_fast.spec import ActionSpec, BehaviorSpec, ObservationSpec

    slots = AgentSlots("Ball", BehaviorSpec((ObservationSpec.vector(2),), ActionSpec(1, ())), [1])
    info = AgentInfoProto(id=1, reward=0.5)
    info.observations.add(shape=[2]).float_data.data.extend([1.0, float("nan")])
    with pytest.raises(EnvError, match="agent 1 sent an observation holding NaN"):
        slots.read(0, [info])
    info = AgentInfoProto(id=2, reward=float("inf"))
    info.observations.add(shape=[2]).float_data.data.extend([1.0, 2.0])
    slots.forget_agents(0)
    with pytest.raises(EnvError, match="agent 2 sent a reward of inf"):
        slots.read(0, [info])


def test_training_analytics_from_the_game_are_dropped_cleanly() -> None:
    from mlagents_fast.envs.unity.side_channels import TrainingAnalyticsChannel

    manager = SideChannelManager([TrainingAnalyticsChannel()])
    framed = TrainingAnalyticsChannel.ID.bytes_le + (3).to_bytes(4, "little") + b"abc"
    manager.process_side_channel_message(framed)  # (no error, nothing kept)
    assert manager.generate_side_channel_messages() == b""


def test_an_output_where_no_agent_asks_joins_the_next_step() -> None:
    """Unity sends an episode that ends between decisions at once, alone (agents sharing a decision
    period ask nothing then): the bridge answers it with no actions and joins it to the next output,
    so the step shows the end, the new agent and everyone's reward, and no agent sits it out."""
    from mlagents_fast.communicator_objects.agent_info_pb2 import AgentInfoProto
    from mlagents_fast.communicator_objects.brain_parameters_pb2 import BrainParametersProto
    from mlagents_fast.communicator_objects.unity_message_pb2 import UnityMessageProto
    from mlagents_fast.communicator_objects.unity_to_external_pb2_grpc import UnityToExternalProtoStub
    from mlagents_fast.envs.unity.connection import API_VERSION

    def output(*agents: tuple[int, float, float, bool], brain: bool = False) -> UnityMessageProto:
        message = UnityMessageProto()
        message.header.status = 200
        infos = message.unity_output.rl_output.agentInfos["Ball"].value
        for agent_id, value, reward, done in agents:
            info = AgentInfoProto(id=agent_id, reward=reward, done=done)
            info.observations.add(shape=[1]).float_data.data.append(value)
            infos.append(info)
        if brain:
            parameters = BrainParametersProto(brain_name="Ball")
            parameters.action_spec.num_continuous_actions = 1
            message.unity_output.rl_initialization_output.brain_parameters.append(parameters)
        return message

    answers: list[UnityMessageProto] = []
    port = free_port()
    connection = UnityConnection(port, timeout_wait=30)

    def unity() -> None:
        import grpc

        with grpc.insecure_channel(f"localhost:{port}") as channel:
            stub = UnityToExternalProtoStub(channel)  # type: ignore[no-untyped-call]
            hello = UnityMessageProto()
            hello.header.status = 200
            hello.unity_output.rl_initialization_output.communication_version = API_VERSION
            stub.Exchange(hello)
            empty = UnityMessageProto()
            empty.header.status = 200
            stub.Exchange(empty)  # -> the reset
            script = [output((1, 1.0, 0.0, False), (2, 2.0, 0.0, False), brain=True),
                      output((1, 10.0, 1.0, True)),  # agent 1's ball falls between decisions
                      output((3, 3.0, 0.0, False), (2, 4.0, 0.5, False))]  # fmt: skip
            for message in script:
                answers.append(stub.Exchange(message))

    thread = threading.Thread(target=unity, daemon=True)
    thread.start()
    env = UnityVectorEnv([connection])
    try:
        batch = env.batch("Ball")
        env.step()
        assert batch.terminated.tolist() == [True, False] and batch.terminal_obs[0][0, 0] == 10.0
        assert batch.reward.tolist() == [1.0, 0.5] and not batch.absent.any()
        assert batch.obs[0][:, 0].tolist() == [3.0, 4.0] and batch.agent_id.tolist() == [3, 2]
        inputs = [answer.unity_input.rl_input for answer in answers]  # the step's two answers
        assert [len(i.agent_actions["Ball"].value) if "Ball" in i.agent_actions else 0 for i in inputs] == [2, 0]
    finally:
        env.close()
        thread.join(10)
