"""Every configuration shipped under config/ loads, and the PPO ones carry ML-Agents' values."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlagents_fast.config import PPOSettings, load_run_options

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
SHIPPED = sorted(CONFIG_DIR.rglob("*.yaml"))


def test_configs_are_shipped() -> None:
    names = {path.name for path in (CONFIG_DIR / "ppo").glob("*.yaml")}
    assert {
        "Basic.yaml",
        "3DBall.yaml",
        "3DBallHard.yaml",
        "GridWorld.yaml",
        "CartPole.yaml",
        "3DBall_randomize.yaml",
    } <= names


@pytest.mark.parametrize("path", SHIPPED, ids=[str(p.relative_to(CONFIG_DIR)) for p in SHIPPED])
def test_shipped_config_loads(path: Path) -> None:
    run = load_run_options(path)
    assert len(run.behaviors) >= 1


@pytest.mark.parametrize(
    ("name", "behavior", "batch", "buffer", "hidden", "layers", "gamma", "horizon", "summary"),
    [
        ("Basic", "Basic", 32, 256, 20, 1, 0.9, 3, 2000),
        ("3DBall", "3DBall", 64, 12000, 128, 2, 0.99, 1000, 12000),
        ("GridWorld", "GridWorld", 32, 256, 128, 1, 0.9, 5, 20000),
    ],
)
def test_ppo_values_match_ml_agents(
    name: str,
    behavior: str,
    batch: int,
    buffer: int,
    hidden: int,
    layers: int,
    gamma: float,
    horizon: int,
    summary: int,
) -> None:
    settings = load_run_options(CONFIG_DIR / "ppo" / f"{name}.yaml").behaviors[behavior]
    hp = settings.hyperparameters
    assert isinstance(hp, PPOSettings)
    assert (hp.batch_size, hp.buffer_size, hp.learning_rate, hp.learning_rate_schedule) == (
        batch,
        buffer,
        3e-4,
        "linear",
    )
    assert (settings.network_settings.hidden_units, settings.network_settings.num_layers) == (hidden, layers)
    assert settings.reward_signals["extrinsic"].gamma == gamma
    assert (settings.time_horizon, settings.summary_freq, settings.max_steps) == (horizon, summary, 500000)


def test_randomized_3dball_samples_mass_gravity_and_scale() -> None:
    run = load_run_options(CONFIG_DIR / "ppo" / "3DBall_randomize.yaml")
    assert run.environment_parameters is not None
    kinds = {name: p.curriculum[0].value.kind for name, p in run.environment_parameters.items()}
    assert kinds == {"mass": "uniform", "gravity": "multirangeuniform", "scale": "uniform"}
