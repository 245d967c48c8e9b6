"""The rollout ring's bookkeeping (buffer/trajectories.py, buffer/rollout_ring.py) and PPO's use of it: an update
trains whole trajectories only, each with the advantages ML-Agents computes per trajectory."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mlagents_fast.buffer.trajectories import Segments, TrajectoryRing, ring_steps_needed
from mlagents_fast.config.loader import run_options_from_dict
from mlagents_fast.envs.registry import make
from mlagents_fast.trainers.ppo import PPOTrainer


def test_segments_cover_each_agents_finished_steps_across_the_wrap() -> None:
    ring = TrajectoryRing(ring_steps=6, agents=2)
    for step in range(8):  # agent 0 finishes after steps 2 and 6, agent 1 after steps 3 and 7
        ring.advance()
        ring.finish(np.array([step in (2, 6), step in (3, 7)]))
        if step == 3:
            first = ring.take()  # agent 0's steps 0-2 and agent 1's 0-3 are trained
            assert first.rows == 3 + 4
            ring.release()
    segments = ring.take()
    np.testing.assert_array_equal(segments.start, [3, 4])
    np.testing.assert_array_equal(segments.stop, [7, 8])
    assert segments.rows == 4 + 4
    np.testing.assert_array_equal(segments.window_rows(), [3, 4, 5, 0, 1])  # steps 3-7 in ring rows
    # Agent by agent in time order: agent 0's steps 3-6, then agent 1's steps 4-7.
    expected = [(step % 6) * 2 for step in range(3, 7)] + [(step % 6) * 2 + 1 for step in range(4, 8)]
    np.testing.assert_array_equal(segments.flat_rows(), expected)
    assert ring.ready_rows == 0


def test_with_memory_ready_rows_count_whole_sequences_as_ml_agents_buffer_does() -> None:
    """ML-Agents pads each trajectory to whole sequences in its update buffer, and updates once
    that buffer (padding included) holds more than buffer_size."""
    ring = TrajectoryRing(ring_steps=40, agents=2, sequence_length=4)
    for step in range(11):  # agent 0: trajectories of 3 and 7 steps; agent 1: one of 9
        ring.advance()
        ring.finish(np.array([step in (2, 9), step == 8]))
    assert ring.ready_rows == 4 + 8 + 12
    assert ring.take().rows == 3 + 7 + 9  # the steps themselves


def test_steps_agents_sat_out_count_for_no_update_but_crowd_the_ring() -> None:
    """ML-Agents' update buffer never holds a step an agent did not ask a decision for; here it is
    in the ring, so the ring says when it must be emptied before buffer_size steps are ready."""
    ring = TrajectoryRing(ring_steps=5, agents=2)
    for step in range(4):  # agent 1 sits out every step; both finish after steps 1 and 3
        ring.sat_out(np.array([False, True]))
        assert not ring.crowded
        ring.advance()
        ring.finish(np.array([step in (1, 3), step in (1, 3)]))
    assert ring.ready_rows == 4  # agent 0's four steps
    ring.sat_out(np.array([False, True]))
    assert ring.crowded  # a fifth step would overwrite step 0
    ring.take()
    ring.release()
    assert not ring.crowded and ring.ready_rows == 0


def test_a_step_is_never_overwritten_before_it_is_trained() -> None:
    ring = TrajectoryRing(ring_steps=4, agents=1)
    for _ in range(3):
        ring.advance()
    with pytest.raises(RuntimeError, match="would overwrite step 0"):
        ring.advance()


@pytest.mark.parametrize("released", [False, True])
def test_steps_of_an_update_in_flight_are_kept_until_released(released: bool) -> None:
    ring = TrajectoryRing(ring_steps=4, agents=1)
    ring.advance()
    ring.finish(np.array([True]))
    ring.take()  # step 0 is being trained
    ring.advance()
    ring.advance()
    if released:
        ring.release()
        ring.advance()  # step 0 may go: the oldest untrained step is 1
        assert ring.row == 0
    else:
        with pytest.raises(RuntimeError, match="would overwrite step 0"):
            ring.advance()


@settings(max_examples=60, deadline=None)
@given(
    agents=st.integers(1, 6),
    horizon=st.integers(1, 12),
    buffer_size=st.integers(1, 60),
    threaded=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_ring_steps_needed_is_enough(agents: int, horizon: int, buffer_size: int, threaded: bool, seed: int) -> None:
    """The trainer's use of the ring, with random episode ends: no write ever meets an untrained step."""
    rng = np.random.default_rng(seed)
    ring = TrajectoryRing(ring_steps_needed(buffer_size, agents, horizon, threaded=threaded), agents)
    count = np.zeros(agents, np.int64)
    cut = np.zeros(agents, bool)
    in_flight = False
    for _ in range(400):
        ring.finish(cut)  # act: the cut trajectories get their bootstrap value
        if ring.ready_rows > buffer_size:
            if in_flight:
                ring.release()  # threaded: the update in flight is waited for
            ring.take()
            in_flight = threaded
            if not threaded:
                ring.release()
        done = rng.random(agents) < 0.05  # record
        count += 1
        cut = (count >= horizon) & ~done
        count[done | cut] = 0
        ring.advance()
        ring.finish(done)
        assert ring.ready_rows == int((ring.stop - ring.start).sum())  # the running count


def per_trajectory_returns(trainer: PPOTrainer, segments: Segments) -> dict[int, float]:
    """ML-Agents' way, trajectory by trajectory in plain Python: GAE over each agent's steps up
    to each end, bootstrapped from the value after a cut or interruption, 0 after a termination.
    Returns {flat ring row: return}."""
    buf, ring_steps, agents = trainer.buffer, segments.ring_steps, len(segments.start)
    gamma, lambd = trainer.signals[0].gamma, float(trainer.hyper.lambd)
    returns: dict[int, float] = {}
    for agent in range(agents):
        trajectory: list[int] = []
        for step in range(int(segments.start[agent]), int(segments.stop[agent])):
            row = step % ring_steps
            trajectory.append(row)
            if not (buf["terminated"][row, agent] or buf["truncated"][row, agent]):
                continue
            last = trajectory[-1]
            after = 0.0 if buf["terminated"][last, agent] else float(buf["truncated_values"][0, last, agent])
            advantage = 0.0
            for row in reversed(trajectory):
                value = float(buf["value_estimates"][0, row, agent])
                delta = float(buf["rewards"][0, row, agent]) + gamma * after - value
                advantage = delta + gamma * lambd * advantage
                returns[row * agents + agent] = advantage + value
                after = value
            trajectory = []
        assert not trajectory, "a segment ends with the end of a trajectory"
    return returns


def test_updates_train_whole_trajectories_with_per_trajectory_gae(monkeypatch: pytest.MonkeyPatch) -> None:
    env = make("3DBall", 1, seed=0)
    config = {"trainer_type": "ppo", "time_horizon": 5, "network_settings": {"hidden_units": 16, "num_layers": 1},
              "hyperparameters": {"batch_size": 32, "buffer_size": 100}}  # fmt: skip
    behavior: Any = run_options_from_dict({"behaviors": {"3DBall": config}}, "test").behaviors["3DBall"]
    trainer = PPOTrainer("3DBall", env.behavior_specs["3DBall"], behavior, env.num_agents("3DBall"), seed=0)
    original = trainer.update
    checked: list[int] = []

    def checked_update(segments: Segments, step: int) -> Any:
        result = original(segments, step)
        rows = segments.flat_rows()
        expected = per_trajectory_returns(trainer, segments)
        assert sorted(expected) == sorted(rows.tolist())  # exactly the steps of whole trajectories
        got = trainer.buffer.flat("returns.extrinsic")[rows]
        np.testing.assert_allclose(got, [expected[r] for r in rows.tolist()], rtol=1e-5, atol=1e-5)
        checked.append(len(rows))
        return result

    monkeypatch.setattr(trainer, "update", checked_update)
    for _ in range(120):  # the ring holds 19 steps: it wraps several times
        trainer.act(env.batch("3DBall"), env.actions("3DBall"))
        env.step()
        trainer.record(env.batch("3DBall"))
    assert trainer.rollout.ring.ring_steps < 120 and len(checked) >= 8
    assert all(rows > 100 for rows in checked)  # ML-Agents: an update once more than buffer_size wait


def test_a_cut_trajectory_is_finished_once_the_next_observation_is_in() -> None:
    """ML-Agents' AgentProcessor cuts at time_horizon and bootstraps from the next observation:
    the cut trajectory is ready to train once the next act has put that observation in the ring
    (its value is estimated by the update, see the test below)."""
    env = make("3DBall", 1, seed=0)
    config = {"trainer_type": "ppo", "time_horizon": 3, "network_settings": {"hidden_units": 16, "num_layers": 1}}
    behavior: Any = run_options_from_dict({"behaviors": {"3DBall": config}}, "test").behaviors["3DBall"]
    trainer = PPOTrainer("3DBall", env.behavior_specs["3DBall"], behavior, env.num_agents("3DBall"), seed=0)
    for _ in range(3):
        trainer.act(env.batch("3DBall"), env.actions("3DBall"))
        env.step()
        trainer.record(env.batch("3DBall"))
    assert trainer.buffer["truncated"][2].all() and trainer.rollout.cut_at[2].all()
    assert trainer.rollout.ring.ready_rows == 0  # cut, the next observation still to come
    trainer.act(env.batch("3DBall"), env.actions("3DBall"))
    np.testing.assert_array_equal(trainer.buffer["obs_0"][3], env.batch("3DBall").obs[0])
    assert trainer.rollout.ring.ready_rows == 3 * 12


def trainer_on(env_name: str, config: dict[str, Any]) -> tuple[Any, PPOTrainer]:
    env = make(env_name, 1, seed=0)
    behavior: Any = run_options_from_dict({"behaviors": {env_name: config}}, "test").behaviors[env_name]
    return env, PPOTrainer(env_name, env.behavior_specs[env_name], behavior, env.num_agents(env_name), seed=0)


def test_an_update_estimates_values_with_the_critic_it_starts_from(monkeypatch: pytest.MonkeyPatch) -> None:
    """As ML-Agents' get_trajectory_value_estimates: the values of a trajectory's steps, and the
    bootstrap after a cut (from the observation that followed it), come from the critic (and
    normalizer) of the update that trains them, not from the older critic some of the steps were
    acted with. The observations are the environment's own, recorded as the steps happen."""
    env, trainer = trainer_on("3DBall", {
        "trainer_type": "ppo", "time_horizon": 7, "network_settings": {"hidden_units": 16, "normalize": True},
        "hyperparameters": {"batch_size": 32, "buffer_size": 100}})  # fmt: skip
    observed: list[np.ndarray] = []  # the observations each step acted on, by step
    original = trainer.update
    checked: list[int] = []

    def critic_values(obs: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return trainer.critic([torch.from_numpy(obs)])[0].numpy()

    def checked_update(segments: Segments, step: int) -> Any:
        agents = len(segments.start)
        steps = [(step, agent) for agent in range(agents)
                 for step in range(int(segments.start[agent]), int(segments.stop[agent]))]  # fmt: skip
        expected = critic_values(np.stack([observed[step][agent] for step, agent in steps]))
        cuts = [(step, agent) for step, agent in steps if trainer.rollout.cut_at[step % segments.ring_steps, agent]]
        expected_bootstrap = critic_values(np.stack([observed[step + 1][agent] for step, agent in cuts]))
        result = original(segments, step)
        rows = [(step % segments.ring_steps) * agents + agent for step, agent in steps]
        np.testing.assert_allclose(trainer.buffer.flat("value_estimates.extrinsic")[rows], expected, rtol=1e-6)
        cut_rows = [(step % segments.ring_steps) * agents + agent for step, agent in cuts]
        np.testing.assert_allclose(trainer.buffer.flat("truncated_values.extrinsic")[cut_rows], expected_bootstrap,
                                   rtol=1e-6)  # fmt: skip
        checked.append(len(cuts))
        return result

    monkeypatch.setattr(trainer, "update", checked_update)
    for _ in range(60):
        observed.append(env.batch("3DBall").obs[0].copy())
        trainer.act(env.batch("3DBall"), env.actions("3DBall"))
        env.step()
        trainer.record(env.batch("3DBall"))
    # Several updates, each after the critic has moved, most of them set off by the cuts of the
    # step just before (whose next observations the update reads).
    assert len(checked) >= 3 and all(cuts > 0 for cuts in checked)


def test_an_interrupted_episode_bootstraps_from_its_final_observation(monkeypatch: pytest.MonkeyPatch) -> None:
    """An episode the environment interrupts (GridWorld's 100-step limit) bootstraps from the value
    of its final observation, estimated by the critic of the update that trains it."""
    env, trainer = trainer_on("GridWorld", {
        "trainer_type": "ppo", "time_horizon": 5, "network_settings": {"hidden_units": 16, "num_layers": 1},
        "hyperparameters": {"batch_size": 16, "buffer_size": 64}})  # fmt: skip
    finals: dict[tuple[int, int], list[np.ndarray]] = {}  # (step, agent) -> final observations
    original = trainer.update
    checked: list[int] = []

    def checked_update(segments: Segments, step: int) -> Any:
        ended = [(step, agent) for (step, agent) in finals if segments.start[agent] <= step < segments.stop[agent]]
        if ended:
            planes = range(len(trainer._obs_planes))
            obs = [torch.from_numpy(np.stack([finals[key][i] for key in ended])) for i in planes]
            with torch.inference_mode():
                expected = trainer.critic(obs)[0].numpy()
        result = original(segments, step)
        if ended:
            rows = [(step % segments.ring_steps) * len(segments.start) + agent for step, agent in ended]
            np.testing.assert_allclose(trainer.buffer.flat("truncated_values.extrinsic")[rows], expected, rtol=1e-5)
        checked.append(len(ended))
        return result

    monkeypatch.setattr(trainer, "update", checked_update)
    for step in range(130):
        trainer.act(env.batch("GridWorld"), env.actions("GridWorld"))
        env.step()
        batch = env.batch("GridWorld")
        for agent in np.flatnonzero(batch.truncated & ~batch.terminated):
            finals[(step, int(agent))] = [o[agent].copy() for o in batch.terminal_obs]
        trainer.record(batch)
    assert sum(checked) > 0  # interrupted episodes were trained


def test_a_threaded_update_keeps_its_steps_until_it_is_done() -> None:
    """The steps an update thread trains stay guarded in the ring until that update is waited for,
    also when the next update is handed over."""
    env = make("3DBall", 1, seed=0)
    config = {"trainer_type": "ppo", "threaded": True, "time_horizon": 5,
              "network_settings": {"hidden_units": 16, "num_layers": 1},
              "hyperparameters": {"batch_size": 32, "buffer_size": 100}}  # fmt: skip
    behavior: Any = run_options_from_dict({"behaviors": {"3DBall": config}}, "test").behaviors["3DBall"]
    trainer = PPOTrainer("3DBall", env.behavior_specs["3DBall"], behavior, env.num_agents("3DBall"), seed=0)
    handed_over = 0
    for _ in range(60):
        pending = trainer._background.pending
        trainer.act(env.batch("3DBall"), env.actions("3DBall"))
        if trainer._background.pending is not None and trainer._background.pending is not pending:
            handed_over += 1
            guarded = trainer.rollout.ring._in_flight  # the new update's first step, older than any untrained one
            assert guarded is not None and guarded <= int(trainer.rollout.ring.start.min())
        env.step()
        trainer.record(env.batch("3DBall"))
    trainer.close()
    assert handed_over >= 3 and trainer.rollout.ring._in_flight is None
