"""The step loop the learning tests share: every behavior of an environment trained to its max_steps."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from mlagents_fast.config.loader import run_options_from_dict
from mlagents_fast.envs.vector import VectorEnv
from mlagents_fast.trainers.protocol import RotatesTeams, TrainerFactory


def train_behaviors(make_trainer: TrainerFactory, env: VectorEnv, behaviors: dict[str, dict[str, Any]],
                    seed: int) -> tuple[dict[str, list[float]], dict[str, Any]]:  # fmt: skip
    """Train every behavior of `env` (settings by behavior name) to its max_steps, one step loop
    for all, as mlagents-learn does (the environment reset when self-play changes the learning
    team); returns each behavior's episode returns, in order (and each team's, as `Name?team=<id>`,
    for a behavior in teams), and its trainer."""
    torch.set_num_threads(1)
    settings = run_options_from_dict({"behaviors": behaviors}, "test").behaviors
    trainers = {name: make_trainer(name, spec, settings[name], env.num_agents(name), seed=seed, device="cpu",
                                   training=True) for name, spec in env.behavior_specs.items()}  # fmt: skip
    returns: dict[str, list[float]] = {name: [] for name in trainers}
    teams = {name: t for name in trainers if (t := env.teams(name)) is not None}
    rotations = {id(t.rotation): t.rotation for t in trainers.values() if isinstance(t, RotatesTeams)}
    while any(t.step < settings[n].max_steps for n, t in trainers.items()):
        for name, trainer in trainers.items():
            trainer.act(env.batch(name), env.actions(name))
        env.step()
        for name, trainer in trainers.items():
            batch = env.batch(name)
            trainer.record(batch)
            finished = batch.terminated | batch.truncated
            returns[name] += batch.episode_return[finished].tolist()
            for team in np.unique(teams[name]) if name in teams else ():
                returns.setdefault(f"{name}?team={team}", []).extend(
                    batch.episode_return[finished & (teams[name] == team)].tolist()
                )
        if any([rotation.take_change() for rotation in rotations.values()]):
            env.reset()
            for trainer in trainers.values():
                trainer.end_episodes()
    for trainer in trainers.values():
        trainer.close()
    return returns, trainers


def last5(returns: list[float]) -> float:
    """ML-Agents' success measure in its test suite: the mean of the last 5 episode returns."""
    assert len(returns) >= 5, "too few episodes finished to judge"
    return float(np.mean(returns[-5:]))
