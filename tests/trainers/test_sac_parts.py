"""SAC's pieces against plain references: the squashed Gaussian, the Q bookkeeping, the losses'
targets, the ONNX export, checkpoints, and the settings it refuses."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
import torch

from mlagents_fast import _native
from mlagents_fast.config.loader import run_options_from_dict
from mlagents_fast.envs.registry import make
from mlagents_fast.export import export_onnx
from mlagents_fast.trainers.sac import SACTrainer, losses
from mlagents_fast.trainers.sac.networks import SquashedActionModel
from mlagents_fast.trainers.sac.replay_batches import ReplayBatches
from mlagents_fast.trainers.sac.update import AutogradSACGradients

CONFIG: dict[str, Any] = {
    "trainer_type": "sac",
    "hyperparameters": {"batch_size": 8, "buffer_init_steps": 20, "buffer_size": 500},
    "network_settings": {"num_layers": 1, "hidden_units": 16, "normalize": True},
}


def trainer_for(name: str, config: dict[str, Any], **env_options: Any) -> tuple[Any, SACTrainer]:
    env = make(name, 1, seed=0, **env_options)
    settings = run_options_from_dict({"behaviors": {name: config}}, "test").behaviors[name]
    return env, SACTrainer(name, env.behavior_specs[name], settings, env.num_agents(name), seed=0)


def run(env: Any, trainer: SACTrainer, steps: int) -> None:
    for _ in range(steps):
        trainer.act(env.batch(trainer.behavior), env.actions(trainer.behavior))
        env.step()
        trainer.record(env.batch(trainer.behavior))


def test_squashed_gaussian_log_probs_match_torch_distributions() -> None:
    torch.manual_seed(0)
    spec = make("3DBall", 1).behavior_specs["3DBall"].action_spec
    model = SquashedActionModel(8, spec)
    h = torch.randn(64, 8)
    out = model(h, torch.ones(64, 0))
    mu, log_sigma = model._gaussian(h)
    reference = torch.distributions.TransformedDistribution(
        torch.distributions.Normal(mu, log_sigma.exp()), [torch.distributions.TanhTransform()]
    )
    clipped = out.continuous.clamp(-1 + 1e-6, 1 - 1e-6)
    torch.testing.assert_close(out.continuous_log_probs, reference.log_prob(clipped), atol=2e-3, rtol=1e-3)
    assert out.continuous.abs().max() <= 1.0


def test_taken_q_picks_each_branch_choice_and_averages_branches() -> None:
    q = torch.arange(2 * 3 * 5, dtype=torch.float32).view(2, 3, 5)  # 2 signals, 3 rows, branches (2, 3)
    discrete = torch.tensor([[0, 2], [1, 0], [1, 1]])
    expected = torch.stack([torch.stack([(q[s, b, discrete[b, 0]] + q[s, b, 2 + discrete[b, 1]]) / 2
                                         for b in range(3)]) for s in range(2)])  # fmt: skip
    torch.testing.assert_close(losses.taken_q(q, discrete, (2, 3)), expected)


def test_q_backup_bootstraps_unless_the_episode_terminated() -> None:
    rewards, next_values = torch.tensor([[1.0, 1.0]]), torch.tensor([[10.0, 10.0]])
    q = torch.zeros(1, 2)
    q1_loss, _ = losses.q_losses(q, q, next_values, rewards, torch.tensor([0.0, 1.0]), torch.tensor([0.5]))
    assert q1_loss.item() == pytest.approx(0.5 * ((1 + 0.5 * 10) ** 2 + 1**2) / 2)


def test_entropy_coefficient_grows_when_entropy_is_below_its_target() -> None:
    log_coef = torch.zeros(1, requires_grad=True)
    confident = torch.full((16, 2), 3.0)  # log-probabilities far above -target: entropy too low
    loss = losses.entropy_loss(confident, torch.zeros(16, 0), log_coef, torch.zeros(0), -2.0, torch.zeros(0), ())
    loss.backward()
    assert log_coef.grad is not None and log_coef.grad.item() < 0  # a gradient step raises the coefficient


def test_discrete_entropy_targets_are_ml_agents() -> None:
    _, trainer = trainer_for("SimpleEnvironment", CONFIG, action_sizes=(0, 2))
    gradients = trainer.gradient_step.gradients
    assert isinstance(gradients, AutogradSACGradients)  # (discrete actions take the plain path)
    torch.testing.assert_close(gradients.target_discrete, torch.full((2,), 0.2 * math.log(2.0)))
    assert trainer.coefficients.discrete.exp().tolist() == pytest.approx([1.0, 1.0])  # init_entcoef's default


def test_onnx_export_matches_the_squashed_policy(tmp_path: Path) -> None:
    env, trainer = trainer_for("3DBall", CONFIG)
    run(env, trainer, 10)  # through updates, so the normalizer's statistics are in the networks
    path = tmp_path / "sac.onnx"
    export_onnx(trainer.actor, trainer.spec, path)
    obs = np.random.default_rng(0).normal(size=(5, *trainer.spec.observation_specs[0].shape)).astype(np.float32)
    session = ort.InferenceSession(str(path))
    names = [o.name for o in session.get_outputs()]
    outputs = dict(zip(names, session.run(None, {"obs_0": obs}), strict=True))
    with torch.no_grad():
        h = trainer.actor.network_body([torch.from_numpy(obs)])
        expected = torch.tanh(trainer.actor.action_model.mu(h)).numpy()
    np.testing.assert_allclose(outputs["deterministic_continuous_actions"], expected, atol=1e-5)
    assert np.abs(outputs["continuous_actions"]).max() <= 1.0


def test_checkpoint_restores_networks_coefficients_and_step() -> None:
    env, trainer = trainer_for("3DBall", CONFIG)
    run(env, trainer, 10)
    state = trainer.state_dict()
    _, fresh = trainer_for("3DBall", CONFIG)
    fresh.load_state_dict(state)
    assert fresh.step == trainer.step and fresh.updates == trainer.updates
    for mine, theirs in ((trainer.actor, fresh.actor), (trainer.q1, fresh.q1), (trainer.target, fresh.target)):
        for a, b in zip(mine.state_dict().values(), theirs.state_dict().values(), strict=True):
            assert torch.equal(a, b)
    torch.testing.assert_close(fresh.coefficients.continuous, trainer.coefficients.continuous)


def test_threaded_sac_acts_one_update_behind() -> None:
    env, trainer = trainer_for("3DBall", {**CONFIG, "threaded": True})
    assert trainer.acting_actor is not trainer.actor
    background = trainer._background
    assert background is not None
    while background.pending is None:
        run(env, trainer, 1)
    trainer.wait_for_update()
    for acting, learning in zip(trainer.acting_actor.parameters(), trainer.actor.parameters(), strict=True):
        assert torch.equal(acting, learning)
    assert trainer.gradient_steps > 0 and any(s.key == "Losses/Q1 Loss" for s in trainer.drain_stats())
    trainer.close()


SAVING = {**CONFIG, "hyperparameters": {**CONFIG["hyperparameters"], "save_replay_buffer": True}}


def test_replay_buffer_is_saved_and_restored(tmp_path: Path) -> None:
    env, trainer = trainer_for("3DBall", SAVING)
    run(env, trainer, 10)
    trainer.save_files(tmp_path)
    _, resumed = trainer_for("3DBall", SAVING)
    resumed.load_files(tmp_path)
    assert resumed.replay.size == trainer.replay.size == 120
    for name, values in trainer.replay.state().items():
        np.testing.assert_array_equal(resumed.replay.state()[name], values)
    assert not [p for p in tmp_path.iterdir() if p.name != "last_replay_buffer.npz"]  # no temporary left


def test_replay_buffer_wraps_and_keeps_the_newest(tmp_path: Path) -> None:
    small = {**SAVING, "hyperparameters": {**SAVING["hyperparameters"], "buffer_size": 50}}
    env, trainer = trainer_for("3DBall", small)
    run(env, trainer, 10)  # 120 transitions into 50 rows
    newest = trainer.replay.state()
    assert trainer.replay.size == 50
    trainer.save_files(tmp_path)
    _, resumed = trainer_for("3DBall", small)
    resumed.load_files(tmp_path)
    np.testing.assert_array_equal(resumed.replay.state()["obs_0"], newest["obs_0"])


@pytest.mark.parametrize("damage", ["missing", "corrupt", "other network"])
def test_an_unreadable_replay_buffer_is_a_warning(tmp_path: Path, damage: str,
                                                   caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    path = tmp_path / "last_replay_buffer.npz"
    if damage == "corrupt":
        path.write_bytes(b"not a zip file")
    elif damage == "other network":
        np.savez(path, obs_0=np.zeros((3, 2), np.float32))
    _, trainer = trainer_for("3DBall", SAVING)
    before = path.read_bytes() if path.exists() else None
    trainer.load_files(tmp_path)
    assert trainer.replay.size == 0
    assert "resuming with an empty one" in caplog.text
    assert (path.read_bytes() if path.exists() else None) == before  # nothing on disk is lost


def test_updates_keep_ml_agents_ratio() -> None:
    """No update before buffer_init_steps; then (step - buffer_init_steps) / updates <= steps_per_update."""
    config = {**CONFIG, "hyperparameters": {**CONFIG["hyperparameters"], "buffer_init_steps": 36,
                                            "steps_per_update": 2.0}}  # fmt: skip
    env, trainer = trainer_for("3DBall", config)  # 12 agents a step
    run(env, trainer, 2)
    assert trainer.gradient_steps == 0  # 24 agent-steps: before buffer_init_steps
    # 120 agent-steps: updates until (120 - 36) / update_steps <= 2, update_steps counted from 1 as
    # in ML-Agents: 42 update steps, 41 gradient steps
    run(env, trainer, 8)
    assert trainer.gradient_steps == 41 and trainer.updates == 42


def test_a_learning_reward_signal_trains_on_its_own_ratio(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reward-signal seam serves SAC too: a signal that learns is updated every
    reward_signal_steps_per_update agent-steps, on replay samples, and pays into the replay."""
    from mlagents_fast.reward_signals import registry as signal_registry
    from tests.trainers.test_frame import ConstantSignal

    made: list[ConstantSignal] = []
    monkeypatch.setitem(signal_registry._FACTORIES, "curiosity",
                        lambda settings, spec: made.append(ConstantSignal(settings)) or made[-1])  # fmt: skip
    config = {**CONFIG, "hyperparameters": {**CONFIG["hyperparameters"], "buffer_init_steps": 24,
                                            "steps_per_update": 4.0, "reward_signal_steps_per_update": 12.0},
              "reward_signals": {"extrinsic": {}, "curiosity": {"strength": 0.5}}}  # fmt: skip
    env, trainer = trainer_for("3DBall", config)
    run(env, trainer, 10)  # 120 agent-steps: (120 - 24) / 12 -> 8 signal update steps, counted from 1 -> 7
    (signal,) = made
    assert len(signal.updates) == 7 and len(signal.updates[0].obs[0]) == CONFIG["hyperparameters"]["batch_size"]
    np.testing.assert_array_equal(trainer.replay.state()["reward_curiosity"], np.full(120, 0.5, np.float32))
    stats = {s.key: s.values for s in trainer.drain_stats()}
    assert stats["Losses/Curiosity Forward Loss"][-1] == 0.5


def test_a_round_draws_the_minibatches_separate_samples_would() -> None:
    """One draw and one gather per round (one host-to-device copy on an accelerator) gives each
    minibatch the rows that one sample per minibatch would, in a round larger than the staging
    first held (it grows)."""
    from mlagents_fast import _native
    from mlagents_fast.trainers.sac import replay_batches

    env, trainer = trainer_for("3DBall", CONFIG)
    run(env, trainer, 3)
    batches, rows = trainer.batches, CONFIG["hyperparameters"]["batch_size"]
    count = replay_batches.MINIBATCHES_PER_GATHER + 3
    drawn = [mb.obs[0].clone() for mb in batches.draw(count, _native.Rng(7))]
    rng = _native.Rng(7)
    separate = [torch.from_numpy(batches.buffer.sample(rows, rng)["obs_0"].copy()) for _ in range(count)]
    assert len(drawn) == count
    for mine, theirs in zip(drawn, separate, strict=True):
        assert torch.equal(mine, theirs)


def test_sac_through_mlagents_learn_resume_and_initialize_from(tmp_path: Path) -> None:
    """The CLI's run control serves SAC as it does PPO: a run, --resume to more steps, and
    --initialize-from (weights only, the step counted from zero)."""
    import yaml

    from mlagents_fast.learn import main
    from mlagents_fast.run.checkpoints import load_checkpoint

    path = tmp_path / "sac.yaml"

    def learn(max_steps: int, *flags: str) -> int:
        config = {**CONFIG, "max_steps": max_steps, "summary_freq": 120, "checkpoint_interval": 120}
        path.write_text(yaml.safe_dump({"behaviors": {"3DBall": config}}))
        return main([str(path), f"--results-dir={tmp_path}", "--seed=3", *flags])

    assert learn(240, "--run-id=first") == 0
    first = load_checkpoint(tmp_path / "first" / "3DBall" / "checkpoint.pt")
    assert first["global_step"] == 240 and first["update_steps"] > 1
    assert learn(480, "--run-id=first", "--resume") == 0
    assert load_checkpoint(tmp_path / "first" / "3DBall" / "checkpoint.pt")["global_step"] == 480
    assert learn(120, "--run-id=derived", "--initialize-from=first") == 0
    derived = load_checkpoint(tmp_path / "derived" / "3DBall" / "checkpoint.pt")
    assert derived["global_step"] == 120
    assert (tmp_path / "derived" / "3DBall.onnx").exists()


def test_inference_acts_without_storing_or_training() -> None:
    env = make("3DBall", 1, seed=0)
    settings = run_options_from_dict({"behaviors": {"3DBall": CONFIG}}, "test").behaviors["3DBall"]
    player = SACTrainer("3DBall", env.behavior_specs["3DBall"], settings, 12, seed=0, training=False)
    before = [p.clone() for p in player.actor.parameters()]
    run(env, player, 20)
    assert player.replay.size == 0 and player.gradient_steps == 0 and player.step == 240
    assert all(torch.equal(a, b) for a, b in zip(before, player.actor.parameters(), strict=True))
    assert int(player.normalizer.statistics[0].count) == 1  # the statistics move only while training


def test_a_batch_larger_than_the_buffer_is_said(caplog: pytest.LogCaptureFixture) -> None:
    trainer_for("3DBall", {**CONFIG, "hyperparameters": {**CONFIG["hyperparameters"], "batch_size": 600}})
    assert "will not update the policy" in caplog.text


def test_staged_minibatches_equal_the_gathered_ones() -> None:
    """The accelerator's data path (pinned staging, then one copy per field into preallocated
    device memory), run on the CPU with plain memory standing in: the same minibatches."""
    env, trainer = trainer_for("Basic", CONFIG)
    run(env, trainer, 40)
    spec, names = trainer.spec, [s.name for s in trainer.signals]
    direct = ReplayBatches(spec, names, 500, 8, torch.device("cpu"))
    staged = ReplayBatches(spec, names, 500, 8, torch.device("cpu"), staged=True)
    assert staged.staged and not direct.staged and staged._tensors is not staged._host
    state = trainer.replay.state()
    direct.buffer.load_state(state)
    staged.buffer.load_state(state)
    first, second = _native.Rng(7), _native.Rng(7)
    for ours, theirs in zip(direct.draw(40, first), staged.draw(40, second), strict=True):  # (staging grows)
        for field in ("obs", "next_obs"):
            for a, b in zip(getattr(ours, field), getattr(theirs, field), strict=True):
                torch.testing.assert_close(a, b, atol=0.0, rtol=0.0)
        for field in ("continuous_action", "discrete_action", "allowed", "rewards", "done"):
            torch.testing.assert_close(getattr(ours, field), getattr(theirs, field), atol=0.0, rtol=0.0)
        assert ours.discrete_action.shape == (8, 1) and ours.rewards.shape == (1, 8)


def test_value_stat_is_one_mean_per_trajectory() -> None:
    """ML-Agents' SAC adds `Policy/<Signal> Value`, the mean of V over a trajectory's steps, once
    per trajectory: at each episode's end, and every time_horizon steps of a longer one."""
    horizon = 7
    env, trainer = trainer_for("3DBall", {**CONFIG, "time_horizon": horizon})
    trainer.drain_stats()
    expected: list[float] = []
    trajectories: list[list[float]] = [[] for _ in range(trainer.num_agents)]
    for _ in range(40):
        trainer.act(env.batch("3DBall"), env.actions("3DBall"))
        with torch.inference_mode():  # V of the observations each agent acted on
            values = trainer.critic([torch.from_numpy(o) for o in trainer._obs_planes])[0].tolist()
        env.step()
        batch = env.batch("3DBall")
        trainer.record(batch)
        for agent, value in enumerate(values):
            trajectories[agent].append(value)
            if batch.terminated[agent] or batch.truncated[agent] or len(trajectories[agent]) == horizon:
                expected.append(float(np.mean(trajectories[agent])))
                trajectories[agent] = []
    stats = {stat.key: stat.values for stat in trainer.drain_stats()}
    assert "Policy/Extrinsic Value Estimate" not in stats  # (PPO's name)
    assert sorted(stats["Policy/Extrinsic Value"]) == pytest.approx(sorted(expected), rel=1e-5, abs=1e-6)
    assert len(expected) > 40  # cut at the horizon and at episode ends


def test_threaded_training_does_not_depend_on_the_update_threads_speed() -> None:
    """`threaded: true`: the minibatches are drawn before a round starts, the round's noise comes
    from the update's own generator, and the acting policy changes one round later at the same
    steps whatever the timing: a slowed update thread trains to the same weights."""
    import time

    def threaded_run(slow: bool) -> dict[str, torch.Tensor]:
        env, trainer = trainer_for("3DBall", {**CONFIG, "threaded": True})
        assert trainer._background is not None
        if slow:
            step = trainer.gradient_step

            def slowed(*args: Any) -> Any:
                time.sleep(0.002)  # (the collecting thread goes on meanwhile)
                return step(*args)

            trainer.gradient_step = slowed  # type: ignore[assignment]
        run(env, trainer, 40)
        trainer.close()
        assert trainer.gradient_steps > 10
        return {k: v.clone() for k, v in trainer.actor.state_dict().items()}

    fast, slow = threaded_run(False), threaded_run(True)
    for name, value in fast.items():
        torch.testing.assert_close(slow[name], value, atol=0.0, rtol=0.0)


def test_end_episodes_forgets_the_episodes_in_progress() -> None:
    """A curriculum's require_reset resets the environments mid-episode: the episodes in
    progress end unreported; the transitions already stored stay."""
    from mlagents_fast.trainers.protocol import EndsEpisodes

    env, trainer = trainer_for("3DBall", CONFIG)
    run(env, trainer, 5)
    stored = trainer.replay.size
    assert isinstance(trainer, EndsEpisodes) and trainer.trajectory_values.counts.max() > 0
    trainer.end_episodes()
    assert trainer.trajectory_values.counts.max() == 0 and not trainer.rewards._episode.any()
    assert trainer.replay.size == stored
