"""Self-play (trainers/ghost/trainer.py) on ML-Agents' scenarios, with PPO's test configuration:
- test_simple_ghost: SimpleEnvironment's game for two teams of one name (`test?team=0`,
  `test?team=1`), play_against_latest_model_ratio 1.0, save_steps and swap_steps 2000, 2500 steps;
  both teams above 0.9;
- test_simple_asymm_ghost: two names, one team each (`test?team=0`, `testOpp?team=1`), taking
  turns every 400 steps (team_change), 4000 steps each; both above 0.9;
- the two `*_ghost_fails` cases, where the opponents never get a competent policy (the swap due
  after max_steps; or ratio 0 with only the initial snapshot in the window): one team ends above
  0.9, the other below.
And the ghost's bookkeeping: only the learning team trains and counts steps, the opponents act with
the snapshot, games move the ELO."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from mlagents_fast.config import run_options_from_dict
from mlagents_fast.envs.registry import make
from mlagents_fast.envs.teams import TeamsVectorEnv
from mlagents_fast.trainers.ghost.teams import TeamRotation
from mlagents_fast.trainers.ghost.trainer import GhostTrainer
from mlagents_fast.trainers.poca import POCATrainer
from mlagents_fast.trainers.ppo import PPOTrainer
from mlagents_fast.trainers.sac.trainer import SACTrainer
from tests.trainers.test_ppo_learning import ML_AGENTS_PPO_TEST_CONFIG
from tests.trainers.test_sac_learning import ML_AGENTS_SAC_TEST_CONFIG
from tests.trainers.training import last5, train_behaviors

TEAMS = ["test?team=0", "test?team=1"]
ASYMMETRIC = ["test?team=0", "testOpp?team=1"]
THRESHOLD = 0.9


def ghost_factory(env: TeamsVectorEnv, inner_trainer: Any = PPOTrainer) -> Any:
    """Ghost trainers around `inner_trainer`, sharing one team rotation (as mlagents-learn makes them)."""
    rotation = TeamRotation()

    def make_trainer(behavior: str, spec: Any, settings: Any, num_agents: int, **options: Any) -> GhostTrainer:
        inner = inner_trainer(behavior, spec, settings, num_agents, **options)
        teams = env.teams(behavior)
        assert teams is not None and settings.self_play is not None
        return GhostTrainer(inner, settings.self_play, teams, rotation, seed=options.get("seed", 0))

    return make_trainer


def self_play_run(names: list[str], self_play: dict[str, Any], max_steps: int) -> dict[str, list[float]]:
    """ML-Agents' self-play scenarios: each behavior name with PPO's test configuration and
    `self_play`; returns the episode returns of each team (`Name?team=<id>`)."""
    config = {**ML_AGENTS_PPO_TEST_CONFIG, "max_steps": max_steps, "self_play": self_play}
    env = TeamsVectorEnv(make("SimpleEnvironment", 1, seed=1337, brain_names=names, action_sizes=(0, 1)))
    behaviors = {name: config for name in env.behavior_specs}
    returns, _ = train_behaviors(ghost_factory(env), env, behaviors, seed=1337)
    return {name: values for name, values in returns.items() if "?team=" in name}


@pytest.mark.learning
def test_simple_ghost() -> None:
    self_play = {"play_against_latest_model_ratio": 1.0, "save_steps": 2000, "swap_steps": 2000}
    config = {**ML_AGENTS_PPO_TEST_CONFIG, "max_steps": 2500, "self_play": self_play}
    env = TeamsVectorEnv(make("SimpleEnvironment", 1, seed=1337, brain_names=TEAMS, action_sizes=(0, 1)))
    returns, trainers = train_behaviors(ghost_factory(env), env, {"test": config}, seed=1337)
    assert last5(returns["test"]) > 0.9  # (both teams' episodes: the opponent plays the latest policy)
    ghost = trainers["test"]
    assert ghost.current_elo != pytest.approx(1200.0)


@pytest.mark.learning
def test_simple_asymm_ghost() -> None:
    self_play = {"play_against_latest_model_ratio": 1.0, "save_steps": 10000, "swap_steps": 10000,
                 "team_change": 400}  # fmt: skip
    returns = self_play_run(ASYMMETRIC, self_play, max_steps=4000)
    assert set(returns) == {"test?team=0", "testOpp?team=1"}
    assert all(last5(values) > THRESHOLD for values in returns.values()), {k: last5(v) for k, v in returns.items()}


@pytest.mark.learning
def test_simple_ghost_fails() -> None:
    """The opponents play the initial policy all along: the swap is due only after max_steps."""
    self_play = {"play_against_latest_model_ratio": 1.0, "save_steps": 2000, "swap_steps": 4000}
    final = [last5(values) for values in self_play_run(TEAMS, self_play, max_steps=2500).values()]
    assert len(final) == 2 and any(r > THRESHOLD for r in final) and any(r < THRESHOLD for r in final), final


@pytest.mark.learning
def test_simple_asymm_ghost_fails() -> None:
    """When training ends the team that is not learning plays the untrained initial snapshot (ratio 0,
    and no snapshot saved after it)."""
    self_play = {"play_against_latest_model_ratio": 0.0, "save_steps": 5000, "swap_steps": 5000,
                 "team_change": 2000}  # fmt: skip
    final = [last5(values) for values in self_play_run(ASYMMETRIC, self_play, max_steps=3000).values()]
    assert len(final) == 2 and any(r > THRESHOLD for r in final) and any(r < THRESHOLD for r in final), final


def test_only_the_learning_team_trains_and_counts() -> None:
    raw = {**ML_AGENTS_PPO_TEST_CONFIG, "max_steps": 400, "self_play": {"save_steps": 50, "swap_steps": 20,
                                                                        "team_change": 150}}  # fmt: skip
    settings = run_options_from_dict({"behaviors": {"test": raw}}, "t").behaviors["test"]
    env = TeamsVectorEnv(make("SimpleEnvironment", 2, seed=5, brain_names=TEAMS, action_sizes=(0, 1)))
    ghost = ghost_factory(env)("test", env.behavior_specs["test"], settings, env.num_agents("test"), seed=5)
    batch, actions = env.batch("test"), env.actions("test")
    teams = env.teams("test")
    assert teams is not None and teams.tolist() == [0, 0, 1, 1]
    learners: list[int] = []
    for _ in range(300):
        ghost.act(batch, actions)
        learners.append(ghost.rotation.learning_team)
        ring_row = ghost.inner.ring.row
        absent = ghost.inner.rollout.buffer.arrays["absent"][ring_row]
        np.testing.assert_array_equal(absent, teams != ghost.rotation.learning_team)  # the opponents sit out
        env.step()
        ghost.record(batch)
    assert set(learners) == {0, 1}  # the teams took turns
    assert ghost.step == 300 * 2  # two learning agents a step: the opponents' steps do not count
    assert len(ghost.window.snapshots) > 0


def test_a_checkpoint_keeps_the_elos_and_the_snapshots(tmp_path: Path) -> None:
    raw = {**ML_AGENTS_PPO_TEST_CONFIG, "max_steps": 400, "self_play": {"save_steps": 30, "window": 3}}
    settings = run_options_from_dict({"behaviors": {"test": raw}}, "t").behaviors["test"]
    env = TeamsVectorEnv(make("SimpleEnvironment", 2, seed=5, brain_names=TEAMS, action_sizes=(0, 1)))
    ghost = ghost_factory(env)("test", env.behavior_specs["test"], settings, env.num_agents("test"), seed=5)
    batch, actions = env.batch("test"), env.actions("test")
    for _ in range(120):
        ghost.act(batch, actions)
        env.step()
        ghost.record(batch)
    path = tmp_path / "checkpoint.pt"
    torch.save(ghost.state_dict(), path)
    twin = ghost_factory(env)("test", env.behavior_specs["test"], settings, env.num_agents("test"), seed=9)
    twin.load_state_dict(torch.load(path, weights_only=True))
    assert twin.window.elos == pytest.approx(ghost.window.elos) and twin.current_elo != 1200.0
    assert len(twin.window.snapshots) == len(ghost.window.snapshots) == 3
    for ours, theirs in zip(twin.window.snapshots, ghost.window.snapshots, strict=True):
        assert all(torch.equal(ours[k], theirs[k]) for k in theirs)
    smaller = run_options_from_dict({"behaviors": {"test": {**raw, "self_play": {"window": 2}}}}, "t").behaviors["test"]
    other = ghost_factory(env)("test", env.behavior_specs["test"], smaller, env.num_agents("test"), seed=9)
    with pytest.raises(ValueError, match=r"self_play\.window"):
        other.load_state_dict(torch.load(path, weights_only=True))


def test_a_checkpoint_without_snapshots_starts_a_new_window(caplog: pytest.LogCaptureFixture) -> None:
    """A run resumed with `self_play` from a checkpoint saved without it: one clear warning, the
    trained weights kept, and the window starts from them."""
    raw = {**ML_AGENTS_PPO_TEST_CONFIG, "max_steps": 400, "self_play": {"save_steps": 30, "window": 3}}
    settings = run_options_from_dict({"behaviors": {"test": raw}}, "t").behaviors["test"]
    env = TeamsVectorEnv(make("SimpleEnvironment", 2, seed=5, brain_names=TEAMS, action_sizes=(0, 1)))
    plain = PPOTrainer("test", env.behavior_specs["test"], settings, env.num_agents("test"), seed=3)
    with torch.no_grad():
        for parameter in plain.actor.parameters():
            parameter.add_(1.0)  # weights a fresh trainer would not have
    state = plain.state_dict()
    ghost = ghost_factory(env)("test", env.behavior_specs["test"], settings, env.num_agents("test"), seed=5)
    with caplog.at_level("WARNING"):
        ghost.load_state_dict(state)
    assert "holds no self-play snapshots" in caplog.text and "'test'" in caplog.text
    restored = plain.actor.state_dict()
    assert len(ghost.window.snapshots) == 1 and ghost.current_elo == 1200.0
    assert all(torch.equal(ghost.window.snapshots[0][k], restored[k]) for k in restored)
    assert all(torch.equal(ghost.inner.actor.state_dict()[k], restored[k]) for k in restored)


def recurrent_self_play(trainer_type: str) -> dict[str, Any]:
    """ML-Agents' recurrent test settings of each trainer (PPO's and POCA's: memory 16 over sequences
    of 16, batch 64, buffer 128, learning rate 1e-3, as test_recurrent_ppo; SAC's
    test_recurrent_sac), 3000 steps, self-play as test_simple_ghost."""
    self_play = {"play_against_latest_model_ratio": 1.0, "save_steps": 2000, "swap_steps": 2000}
    memory = {"memory_size": 16, "sequence_length": 16}
    if trainer_type == "sac":
        base = ML_AGENTS_SAC_TEST_CONFIG
        hyper = {**base["hyperparameters"], "batch_size": 256, "buffer_init_steps": 1000, "steps_per_update": 2}
    else:
        base = {**ML_AGENTS_PPO_TEST_CONFIG, "trainer_type": trainer_type}
        hyper = {**base["hyperparameters"], "batch_size": 64, "buffer_size": 128, "learning_rate": 1e-3}
    return {**base, "max_steps": 3000, "hyperparameters": hyper, "self_play": self_play,
            "network_settings": {**base["network_settings"], "memory": memory}}  # fmt: skip


@pytest.mark.learning
@pytest.mark.parametrize("inner", [PPOTrainer, POCATrainer, SACTrainer], ids=["ppo", "poca", "sac"])
def test_simple_ghost_with_memory(inner: Any) -> None:
    """test_simple_ghost with an LSTM around each trainer: the opponents act from memories of
    their own, and the learner's sequences count none of the steps it sat out."""
    config = recurrent_self_play(inner.__name__[: -len("Trainer")].lower())
    env = TeamsVectorEnv(make("SimpleEnvironment", 1, seed=1337, brain_names=TEAMS, action_sizes=(0, 1)))
    returns, trainers = train_behaviors(ghost_factory(env, inner), env, {"test": config}, seed=1337)
    assert last5(returns["test"]) > 0.9
    ghost = trainers["test"]
    assert ghost._opponent_memory is not None and ghost._opponent_memory.shape == (2, 16)
