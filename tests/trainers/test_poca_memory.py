"""MA-POCA with memory (trainers/poca/recurrent.py): ML-Agents' test_recurrent_poca (MemoryEnvironment
must be learned; MultiAgentEnvironment must train), and the batched estimate (every chain of an
agent's trajectories through the LSTM at once, the value's and the baseline's memories side by
side, carried from one update to the next) against stepping the critic one step at a time."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
import torch

from mlagents_fast.config.loader import run_options_from_dict
from mlagents_fast.envs.python.inprocess import InProcessVectorEnv
from mlagents_fast.envs.registry import make
from mlagents_fast.envs.testing.multi_agent import MultiAgentEnvironment
from mlagents_fast.export import export_onnx
from mlagents_fast.trainers.poca import POCATrainer
from mlagents_fast.trainers.poca.groups import groupmates
from mlagents_fast.trainers.poca.recurrent import RecurrentPOCAValueEstimator
from mlagents_fast.trainers.ppo.recurrent import trajectory_bounds
from tests.trainers.test_poca_learning import POCA_TEST_CONFIG
from tests.trainers.test_ppo_memory import recurrent_config
from tests.trainers.training import last5, train_behaviors

GROUPS = "MultiAgentEnvironment"


@pytest.mark.learning
@pytest.mark.parametrize("action_sizes", [(0, 1), (1, 0)], ids=["discrete", "continuous"])
def test_recurrent_poca(action_sizes: tuple[int, int]) -> None:
    env = make("MemoryEnvironment", 1, seed=1337, action_sizes=action_sizes)
    returns, _ = train_behaviors(POCATrainer, env, {"MemoryEnvironment": recurrent_config(trainer_type="poca")},
                                 seed=1337)  # fmt: skip
    assert last5(returns["MemoryEnvironment"]) > 0.9


def group_env(copies: int, seed: int) -> InProcessVectorEnv:
    env = InProcessVectorEnv(
        lambda: MultiAgentEnvironment([GROUPS], action_sizes=(0, 1), num_agents=2, seed=seed), copies
    )
    env.reset(seed)
    return env


def test_recurrent_poca_trains_groups_and_exports_its_memory(tmp_path: Path) -> None:
    """ML-Agents' multi-agent case (memory 16, 500 steps: it must train, not yet succeed), and the
    exported actor carries the memory as `recurrent_in` / `recurrent_out`."""
    env = group_env(1, 1337)
    try:
        _, trainers = train_behaviors(POCATrainer, env, {GROUPS: recurrent_config(trainer_type="poca", max_steps=500)},
                                      seed=1337)  # fmt: skip
    finally:
        env.close()
    trainer = trainers[GROUPS]
    stats = {stat.key: stat.values for stat in trainer.drain_stats()}
    assert trainer.gradient_steps > 0 and all(math.isfinite(v) for v in stats["Losses/Baseline Loss"])
    path = tmp_path / "poca.onnx"
    export_onnx(trainer.actor, trainer.spec, path)
    session = ort.InferenceSession(str(path))
    assert [i.name for i in session.get_inputs()][-1] == "recurrent_in"
    assert session.get_outputs()[-1].name == "recurrent_out"


def stepped_trainer(steps: int) -> tuple[POCATrainer, InProcessVectorEnv]:
    """A POCA trainer with memory on two copies of two-agent groups, after `steps` steps (several
    updates; time_horizon 5 cuts trajectories that chain into one memory, sequences of 2 start
    inside them)."""
    config: dict[str, Any] = recurrent_config({"memory_size": 8, "sequence_length": 2}, trainer_type="poca",
                                              time_horizon=5, max_steps=100_000)  # fmt: skip
    config["hyperparameters"] = {**POCA_TEST_CONFIG["hyperparameters"], "buffer_size": 48}
    settings = run_options_from_dict({"behaviors": {GROUPS: config}}, "test").behaviors[GROUPS]
    env = group_env(2, 5)
    trainer = POCATrainer(GROUPS, env.behavior_specs[GROUPS], settings, env.num_agents(GROUPS), seed=5)
    batch, actions = env.batch(GROUPS), env.actions(GROUPS)
    for _ in range(steps):
        trainer.act(batch, actions)
        env.step()
        trainer.record(batch)
    return trainer, env


def test_the_batched_estimate_is_the_critic_stepped_one_step_at_a_time() -> None:
    trainer, env = stepped_trainer(150)
    try:
        trainer.rollout.finish_cut_trajectories()
        segments = trainer.rollout.take()
        rows = segments.flat_rows()
        estimator = trainer.values
        assert isinstance(estimator, RecurrentPOCAValueEstimator)
        carried = estimator.carried.copy()
        assert carried.any(), "an earlier update left memories to carry"
        buf, agents = trainer.buffer, trainer.num_agents
        estimator.mates = groupmates(rows, buf.flat("group_id"), buf.flat("absent"), agents)
        assert (estimator.mates >= 0).any()
        values, baselines = estimator.step_values_and_baselines(rows)

        # The plain loop: each agent's trajectories in time order, one step at a time.
        critic, length = trainer.critic, estimator.sequence_length
        ended = estimator.episode_ends()
        starts, lengths = trajectory_bounds(trainer.rollout.trajectory_ends(rows))
        obs = buf.flat("obs_0")
        memory = {a: (torch.from_numpy(carried[0, a : a + 1]), torch.from_numpy(carried[1, a : a + 1]))
                  for a in range(agents)}  # fmt: skip
        carried_in = joined = 0  # trajectories that go on from memories: an earlier update's, this one's
        seen: set[int] = set()
        with torch.no_grad():
            for start, size in zip(starts.tolist(), lengths.tolist(), strict=True):
                agent = int(rows[start] % agents)
                value_memory, baseline_memory = memory[agent]
                if value_memory.any():
                    carried_in += agent not in seen
                    joined += agent in seen
                seen.add(agent)
                for i in range(size):
                    r = start + i
                    if i % length == 0:  # a sequence starts from these memories
                        sequence = np.flatnonzero(estimator.sequences[:, 0] == r)[0]
                        np.testing.assert_allclose(estimator.sequence_memories[0, sequence], value_memory[0], atol=1e-6)
                        np.testing.assert_allclose(estimator.sequence_memories[1, sequence], baseline_memory[0],
                                                   atol=1e-6)  # fmt: skip
                    tensors = estimator.group_tensors([obs[rows[r]][None].copy()], estimator.mates[r : r + 1])
                    value, value_memory = critic.value_with_memory(*tensors.members(), value_memory)
                    baseline, baseline_memory = critic.baseline_with_memory(*tensors.counterfactual(), baseline_memory)
                    np.testing.assert_allclose(values[:, r], value[:, 0].numpy(), rtol=1e-5, atol=1e-6)
                    np.testing.assert_allclose(baselines[:, r], baseline[:, 0].numpy(), rtol=1e-5, atol=1e-6)
                over = bool(ended[rows[start + size - 1]])
                memory[agent] = (value_memory * (not over), baseline_memory * (not over))
        assert carried_in > 0 and joined > 0, "trajectories went on from carried memories, and within the update"
        for a in range(agents):  # what the next update carries
            np.testing.assert_allclose(estimator.carried[0, a], memory[a][0][0].numpy(), atol=1e-6)
            np.testing.assert_allclose(estimator.carried[1, a], memory[a][1][0].numpy(), atol=1e-6)
        trainer.rollout.release()
    finally:
        env.close()


def test_a_reset_forgets_the_carried_memories() -> None:
    trainer, env = stepped_trainer(100)
    try:
        assert isinstance(trainer.values, RecurrentPOCAValueEstimator) and trainer.values.carried.any()
        trainer.end_episodes()
        assert not trainer.values.carried.any()
        assert trainer.memories is not None and not trainer.memories.actor.any()
    finally:
        env.close()
