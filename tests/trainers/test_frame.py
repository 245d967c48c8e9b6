"""The trainer frame's seams: a trainer plugs in through ML-Agents' entry point group, a reward
signal through the reward-signal registry, and neither touches the trainers' code."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import torch

from mlagents_fast.config.loader import run_options_from_dict
from mlagents_fast.config.trainer_settings import HYPERPARAMETER_CLASSES, RewardSignalSettings
from mlagents_fast.envs.registry import make
from mlagents_fast.envs.vector import StepBatch
from mlagents_fast.learn import main
from mlagents_fast.reward_signals import RewardInput, SignalUpdateBatch
from mlagents_fast.reward_signals import registry as signal_registry
from mlagents_fast.run.errors import UnityTrainerException
from mlagents_fast.spec import ActionTuple, BehaviorSpec
from mlagents_fast.trainers import registry
from mlagents_fast.trainers.ppo import PPOTrainer
from mlagents_fast.trainers.stats import Stat


@dataclasses.dataclass
class ConstantSettings:
    batch_size: int = 8
    buffer_size: int = 8
    learning_rate: float = 1e-3
    learning_rate_schedule: str = "constant"
    action: float = 0.5


class ConstantTrainer:
    """A third-party trainer: always the same continuous action, nothing learned."""

    made: ClassVar[list[ConstantTrainer]] = []

    def __init__(self, behavior: str, spec: BehaviorSpec, settings: Any, num_agents: int, *, seed: int,
                 device: torch.device | str, training: bool) -> None:  # fmt: skip
        self.behavior, self.spec, self.settings, self.training = behavior, spec, settings, training
        self.step, self.returns = 0, [0.0]
        ConstantTrainer.made.append(self)

    def act(self, batch: StepBatch, actions: ActionTuple) -> None:
        actions.continuous[...] = self.settings.hyperparameters.action

    def record(self, batch: StepBatch) -> None:
        self.step += len(batch.reward)
        self.returns += batch.episode_return[batch.terminated | batch.truncated].tolist()

    def drain_stats(self) -> list[Stat]:
        return [Stat("Environment/Cumulative Reward", self.returns[-1:])]

    def mean_recent_return(self) -> float | None:
        return float(np.mean(self.returns))

    def state_dict(self) -> dict[str, Any]:
        return {"global_step": self.step}

    def load_state_dict(self, state: dict[str, Any], *, reset_step: bool = False) -> None:
        self.step = 0 if reset_step else int(state["global_step"])

    def export_policy(self, path: Path) -> None:
        path.write_bytes(b"constant policy")

    def wait_for_update(self) -> None:
        pass

    def close(self) -> None:
        pass


class FakeEntryPoint:
    name, value = "constant", "constant_plugin:get_trainer_types"

    def load(self) -> Any:
        return lambda: ({"constant": ConstantTrainer}, {"constant": ConstantSettings})


def test_a_plugin_trainer_trains_through_mlagents_learn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "entry_points", lambda group: [FakeEntryPoint()] if group == "mlagents.trainer_type"
                        else [])  # fmt: skip
    monkeypatch.setattr(registry, "_plugins_loaded", False)
    monkeypatch.setattr(registry, "_registered", {})
    monkeypatch.setitem(HYPERPARAMETER_CLASSES, "constant", ConstantSettings)  # undone after the test
    monkeypatch.setattr(ConstantTrainer, "made", [])
    path = tmp_path / "constant.yaml"
    path.write_text("behaviors:\n  3DBall:\n    trainer_type: constant\n    hyperparameters: {action: 0.25}\n"
                    "    max_steps: 240\n    summary_freq: 120\n")  # fmt: skip
    assert main([str(path), "--run-id=plugin", f"--results-dir={tmp_path}", "--seed=1"]) == 0
    (trainer,) = ConstantTrainer.made
    assert trainer.settings.hyperparameters.action == 0.25 and trainer.step >= 240
    assert (tmp_path / "plugin" / "3DBall.onnx").read_bytes() == b"constant policy"


def test_a_trainer_type_nothing_provides_is_a_clear_error() -> None:
    with pytest.raises(UnityTrainerException, match="trainer_type 'imitation' is not available yet"):
        registry.trainer_factory("imitation")
    assert registry.trainer_factory("ppo") is PPOTrainer


class ConstantSignal:
    """A reward signal from outside the trainers: pays 1 every step (as it collects, and when an
    update evaluates the steps, as signals that learn are paid) and keeps the batches it trains on."""

    name, stat_name, learns = "curiosity", "Curiosity", True

    def __init__(self, settings: RewardSignalSettings) -> None:
        self.gamma, self.strength = settings.gamma, settings.strength
        self.updates: list[SignalUpdateBatch] = []

    def reward(self, step: RewardInput, out: np.ndarray) -> None:
        assert step.obs[0].shape == step.outcome.obs[0].shape  # the step's observations and what followed
        out[...] = 1.0

    def evaluate(self, batch: SignalUpdateBatch) -> np.ndarray:
        assert batch.next_obs is not None and batch.done is not None
        return np.ones(len(batch), np.float32)

    def update(self, batch: SignalUpdateBatch) -> dict[str, float]:
        self.updates.append(batch)
        return {"Losses/Curiosity Forward Loss": 0.5}

    def state_dict(self) -> dict[str, Any]:
        return {"updates": len(self.updates)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


def test_a_reward_signal_plugs_in_without_touching_the_trainer(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[ConstantSignal] = []

    def factory(settings: RewardSignalSettings, spec: BehaviorSpec) -> ConstantSignal:
        made.append(ConstantSignal(settings))
        return made[-1]

    monkeypatch.setitem(signal_registry._FACTORIES, "curiosity", factory)
    env = make("3DBall", 1, seed=0)
    config = {"trainer_type": "ppo", "time_horizon": 5, "network_settings": {"hidden_units": 16, "num_layers": 1},
              "hyperparameters": {"batch_size": 32, "buffer_size": 100},
              "reward_signals": {"extrinsic": {}, "curiosity": {"gamma": 0.5, "strength": 0.02}}}  # fmt: skip
    settings = run_options_from_dict({"behaviors": {"3DBall": config}}, "test").behaviors["3DBall"]
    trainer = PPOTrainer("3DBall", env.behavior_specs["3DBall"], settings, env.num_agents("3DBall"), seed=0)
    assert trainer.critic.value_heads.out_features == 2  # a value head per signal
    for _ in range(30):
        trainer.act(env.batch("3DBall"), env.actions("3DBall"))
        env.step()
        trainer.record(env.batch("3DBall"))
    (signal,) = made
    written = trainer.buffer["rewards"][1, : trainer.rollout.ring.written]
    np.testing.assert_array_equal(written, np.full_like(written, 0.02))  # paid times its strength
    # trained on every minibatch of every update (3 epochs of the 100-odd steps in minibatches of 32)
    assert len(signal.updates) >= 6 and {len(batch.obs[0]) for batch in signal.updates} == {32}
    stats = {stat.key: stat.values for stat in trainer.drain_stats()}
    assert stats["Losses/Curiosity Forward Loss"][0] == 0.5
    # an episode's total, summed by the update: 0.02 per decision (ML-Agents reports K decisions as K - 1)
    decisions = [round(total / 0.02) for total in stats["Policy/Curiosity Reward"]]
    assert decisions and {d - 1 for d in decisions} <= set(stats["Environment/Episode Length"])
    assert stats["Policy/Curiosity Reward"] == pytest.approx([0.02 * d for d in decisions])
    assert "Policy/Curiosity Value Estimate" in stats and "Policy/Extrinsic Value Estimate" in stats
    assert trainer.state_dict()["reward_signal:curiosity"] == {"updates": len(signal.updates)}
