"""Every configuration shipped under config/ loads, and the PPO and SAC ones carry ML-Agents' values."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlagents_fast.config import PPOSettings, SACSettings, load_run_options
from mlagents_fast.envs import registered_names

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
# config/curricula holds 0.x curriculum files, read with --curriculum beside a trainer configuration.
SHIPPED = sorted(path for path in CONFIG_DIR.rglob("*.yaml") if path.parent.name != "curricula")
SAC = sorted((CONFIG_DIR / "sac").glob("*.yaml"))
# config/sac files whose values are ML-Agents' own config/sac/<Env>.yaml (release 21); the
# others were tuned here and say so on their first line.
ML_AGENTS_SAC = {"3DBall", "3DBallHard", "Basic", "GridWorld", "Hallway", "PushBlock", "Tennis", "Pyramids", "WallJump"}
# Environments whose behaviors are not named after them.
BEHAVIORS_OF = {"WallJump": ["BigWallJump", "SmallWallJump"]}
NOT_ML_AGENTS = "# Not an ML-Agents config; tuned here:"


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
        ("PushBlock", "PushBlock", 128, 2048, 256, 2, 0.99, 64, 60000),
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
    max_steps = 2_000_000 if name == "PushBlock" else 500_000
    assert (settings.time_horizon, settings.summary_freq, settings.max_steps) == (horizon, summary, max_steps)


@pytest.mark.parametrize("name", ["WallJump.yaml", "WallJump_curriculum.yaml", "../trainer_config.yaml"])
def test_walljump_values_match_ml_agents(name: str) -> None:
    """Both behaviors: batch 128, buffer 2048, beta 5e-3, 256 x 2, time_horizon 128, summaries every 20000;
    BigWallJump 20M steps, SmallWallJump 5M (the 0.x file of the seeds has the same values)."""
    run = load_run_options(CONFIG_DIR / "ppo" / name)
    for behavior, max_steps in (("BigWallJump", 20_000_000), ("SmallWallJump", 5_000_000)):
        settings = run.behaviors[behavior]
        hp = settings.hyperparameters
        assert isinstance(hp, PPOSettings)
        assert (hp.batch_size, hp.buffer_size, hp.learning_rate, hp.beta, hp.num_epoch) == (128, 2048, 3e-4, 5e-3, 3)
        assert (settings.network_settings.hidden_units, settings.network_settings.num_layers) == (256, 2)
        assert not settings.network_settings.normalize and settings.reward_signals["extrinsic"].gamma == 0.99
        assert (settings.time_horizon, settings.summary_freq, settings.max_steps) == (128, 20000, max_steps)
    if name == "WallJump_curriculum.yaml":
        big = run.environment_parameters["big_wall_height"].curriculum
        small = run.environment_parameters["small_wall_height"].curriculum
        for lessons in (big, small):
            assert [lesson.completion_criteria.threshold for lesson in lessons[:3]] == [0.1, 0.3, 0.5]
            assert all(lesson.completion_criteria.min_lesson_length == 100 for lesson in lessons[:3])
            assert lessons[3].completion_criteria is None
        assert [lesson.completion_criteria.behavior for lesson in big[:3]] == ["BigWallJump"] * 3
        ranges = [((0.0, 4.0),), ((4.0, 7.0),), ((6.0, 8.0),), ((8.0, 8.0),)]
        assert [lesson.value.intervals for lesson in big] == ranges
        assert [lesson.value.intervals[0][0] for lesson in small] == [1.5, 2.0, 2.5, 4.0]


def test_every_built_in_environment_with_a_ppo_config_has_a_sac_config() -> None:
    ppo = {path.stem for path in (CONFIG_DIR / "ppo").glob("*.yaml")} & set(registered_names())
    assert ppo >= {"3DBall", "3DBallHard", "Basic", "CartPole", "GridWorld"}
    assert ppo <= {path.stem for path in SAC}


@pytest.mark.parametrize("path", SAC, ids=[p.stem for p in SAC])
def test_sac_config_trains_its_environment_with_sac(path: Path) -> None:
    run = load_run_options(path)
    assert list(run.behaviors) == BEHAVIORS_OF.get(path.stem, [path.stem])
    assert path.stem in registered_names()
    for settings in run.behaviors.values():
        assert settings.trainer_type == "sac"
        assert isinstance(settings.hyperparameters, SACSettings)
    first_line = path.read_text().splitlines()[0]
    assert first_line.startswith(NOT_ML_AGENTS) == (path.stem not in ML_AGENTS_SAC)


@pytest.mark.parametrize(
    (
        "name",
        "batch",
        "buffer",
        "init",
        "entcoef",
        "hidden",
        "layers",
        "normalize",
        "gamma",
        "horizon",
        "summary",
        "steps",
    ),
    [
        ("3DBall", 64, 200000, 0, 0.5, 64, 2, True, 0.99, 1000, 12000, 200000),
        ("3DBallHard", 256, 500000, 0, 1.0, 128, 2, True, 0.99, 1000, 12000, 500000),
        ("Basic", 64, 50000, 0, 0.01, 20, 2, False, 0.99, 10, 2000, 500000),
        ("GridWorld", 128, 50000, 1000, 0.5, 128, 1, False, 0.9, 5, 20000, 500000),
    ],
)
def test_sac_values_match_ml_agents(
    name: str,
    batch: int,
    buffer: int,
    init: int,
    entcoef: float,
    hidden: int,
    layers: int,
    normalize: bool,
    gamma: float,
    horizon: int,
    summary: int,
    steps: int,
) -> None:
    settings = load_run_options(CONFIG_DIR / "sac" / f"{name}.yaml").behaviors[name]
    hp = settings.hyperparameters
    assert isinstance(hp, SACSettings)
    assert (hp.batch_size, hp.buffer_size, hp.buffer_init_steps, hp.init_entcoef) == (batch, buffer, init, entcoef)
    assert (hp.learning_rate, hp.learning_rate_schedule, hp.tau, hp.save_replay_buffer) == (
        3e-4,
        "constant",
        0.005,
        False,
    )
    assert (hp.steps_per_update, hp.reward_signal_steps_per_update) == (10.0, 10.0)
    network = settings.network_settings
    assert (network.hidden_units, network.num_layers, network.normalize) == (hidden, layers, normalize)
    assert (settings.reward_signals["extrinsic"].gamma, settings.reward_signals["extrinsic"].strength) == (gamma, 1.0)
    assert (settings.time_horizon, settings.summary_freq, settings.max_steps) == (horizon, summary, steps)
    assert (settings.keep_checkpoints, settings.threaded) == (5, False)


def test_randomized_3dball_samples_mass_gravity_and_scale() -> None:
    run = load_run_options(CONFIG_DIR / "ppo" / "3DBall_randomize.yaml")
    assert run.environment_parameters is not None
    kinds = {name: p.curriculum[0].value.kind for name, p in run.environment_parameters.items()}
    assert kinds == {"mass": "uniform", "gravity": "multirangeuniform", "scale": "uniform"}


def test_hallway_values_match_ml_agents() -> None:
    """ML-Agents' config/ppo/Hallway.yaml and config/sac/Hallway.yaml: an LSTM of memory 128 over
    sequences of 64, time_horizon 64, 128 x 2, 10M steps; PPO batch 128, buffer 1024, beta 0.03;
    SAC batch 512, buffer 200000, init_entcoef 0.1."""
    ppo = load_run_options(CONFIG_DIR / "ppo" / "Hallway.yaml").behaviors["Hallway"]
    sac = load_run_options(CONFIG_DIR / "sac" / "Hallway.yaml").behaviors["Hallway"]
    for settings in (ppo, sac):
        memory = settings.network_settings.memory
        assert memory is not None and (memory.memory_size, memory.sequence_length) == (128, 64)
        assert (settings.network_settings.hidden_units, settings.network_settings.num_layers) == (128, 2)
        assert (settings.time_horizon, settings.max_steps, settings.summary_freq) == (64, 10_000_000, 10000)
    hp = ppo.hyperparameters
    assert isinstance(hp, PPOSettings)
    assert (hp.batch_size, hp.buffer_size, hp.beta, hp.num_epoch, hp.learning_rate_schedule) == (
        128,
        1024,
        0.03,
        3,
        "linear",
    )
    sac_hp = sac.hyperparameters
    assert isinstance(sac_hp, SACSettings)
    assert (sac_hp.batch_size, sac_hp.buffer_size, sac_hp.init_entcoef, sac_hp.steps_per_update) == (
        512,
        200000,
        0.1,
        10.0,
    )


def test_sorter_curriculum_values_match_ml_agents() -> None:
    """ML-Agents' config/ppo/Sorter_curriculum.yaml: batch 512, buffer 40960, 128 x 2, time_horizon
    256, 5M steps, threaded; num_tiles from 2 to 20 in ten lessons on the progress measure."""
    run = load_run_options(CONFIG_DIR / "ppo" / "Sorter_curriculum.yaml")
    settings = run.behaviors["Sorter"]
    hp = settings.hyperparameters
    assert isinstance(hp, PPOSettings)
    assert (hp.batch_size, hp.buffer_size, hp.learning_rate, hp.beta, hp.lambd) == (512, 40960, 3e-4, 5e-3, 0.95)
    assert (settings.network_settings.hidden_units, settings.network_settings.num_layers) == (128, 2)
    assert (settings.time_horizon, settings.max_steps, settings.threaded) == (256, 5_000_000, True)
    lessons = run.environment_parameters["num_tiles"].curriculum
    assert [lesson.value.intervals[0][0] for lesson in lessons] == [float(n) for n in range(2, 21, 2)]
    criteria = [lesson.completion_criteria for lesson in lessons[:-1]]
    assert [c.threshold for c in criteria] == [0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]
    assert all(c.measure == "progress" and c.min_lesson_length == 100 for c in criteria)
    assert run.env_settings.num_envs == 8
