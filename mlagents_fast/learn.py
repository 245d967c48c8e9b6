"""`mlagents-learn` / `mlagents-fast`: parse the command line and configuration, then train.

mlagents-learn config/ppo/3DBall.yaml --run-id=first
mlagents-fast upgrade-config OLD.yaml NEW.yaml [--curriculum FILE] [--sampler FILE]
mlagents-fast record ENV --episodes N --out X.demo [--behavior B]
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mlagents_fast.config.cli import parse_command_line
from mlagents_fast.config.errors import ConfigError
from mlagents_fast.config.settings import EnvironmentSettings, RunOptions
from mlagents_fast.config.trainer_settings import TrainerSettings
from mlagents_fast.envs.parameters import ParameterError
from mlagents_fast.envs.selection import EnvironmentSetupError, environments_for, stepper_options
from mlagents_fast.envs.vector import EnvError
from mlagents_fast.run.directories import (
    RunPaths,
    prepare_run_directory,
    validate_existing_directories,
    write_run_options,
)
from mlagents_fast.run.errors import CheckpointLoadError, TrainerError, UnityTrainerException
from mlagents_fast.run.log import configure_logging
from mlagents_fast.run.stats import StatsRegistry, StatsWriter
from mlagents_fast.run.status import TrainingStatus
from mlagents_fast.spec import ActionError

# torch, the trainers, the exporters and the stats writers (TensorBoard) are imported when training
# starts, never at import: `--help` and a configuration error then answer in a fraction of a second.
if TYPE_CHECKING:
    import torch

    from mlagents_fast.envs.vector import VectorEnv
    from mlagents_fast.trainers.controller import BehaviorRun

logger = logging.getLogger("mlagents_fast.learn")

# Errors that are the user's to fix: one paragraph and a non-zero exit, never a traceback.
# (EnvError: an environment that failed past its restart limits; the run saved before it stopped)
USER_ERRORS = (ConfigError, EnvironmentSetupError, ParameterError, UnityTrainerException, TrainerError,
               CheckpointLoadError, ActionError, EnvError)  # fmt: skip


TRAINING_DEVICES = ("cpu", "cuda", "mps", "xpu")  # not meta (no data), not ipu/hpu/... (untested)


def torch_device(requested: str | None) -> torch.device:
    """--torch-device (torch_settings.device), else CUDA when present, else the CPU.

    A device torch does not know, or one this machine lacks, is the user's error: said before
    any environment starts, not as a traceback from the first tensor moved there."""
    import torch

    if not requested:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    where = f"--torch-device (torch_settings.device) {requested!r}"
    try:
        device = torch.device(requested)
    except RuntimeError:
        raise UnityTrainerException(
            f"{where} is not a torch device; expected 'cpu', 'cuda' or 'cuda:N' (N a GPU index), or leave it "
            "unset to use CUDA when present, else the CPU."
        ) from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise UnityTrainerException(
                f"{where}: CUDA is not available here (torch {torch.__version__}, "
                f"{'built without CUDA' if torch.version.cuda is None else 'no GPU visible'}). Use --torch-device "
                "cpu, or leave it unset to use CUDA when present, else the CPU."
            )
        if device.index is not None and device.index >= count:
            raise UnityTrainerException(f"{where}: this machine has {count} CUDA device(s), numbered 0 to {count - 1}.")
    elif device.type not in TRAINING_DEVICES:
        raise UnityTrainerException(f"{where}: a {device.type} device cannot train; expected one of "
                                    f"{', '.join(TRAINING_DEVICES)}.")  # fmt: skip
    elif device.type != "cpu" and not _backend_available(device):
        raise UnityTrainerException(f"{where}: torch has no {device.type} backend available on this machine.")
    return device


def _backend_available(device: torch.device) -> bool:
    """Whether a non-CPU, non-CUDA device (mps, xpu...) can take a tensor."""
    import torch

    try:
        torch.empty(1, device=device)
    except (RuntimeError, AssertionError):
        return False
    return True


def run_training(opts: RunOptions) -> None:
    checkpoint, env_settings = opts.checkpoint_settings, opts.env_settings
    paths = RunPaths.of(checkpoint.results_dir, checkpoint.run_id)
    init_dir = paths.results_dir / checkpoint.initialize_from if checkpoint.initialize_from else None
    # Check the results folder before anything is made, and make it only once the run can start.
    validate_existing_directories(paths.run_dir, checkpoint.resume, checkpoint.force, init_dir, paths.results_dir)
    # Only a run that can start imports torch, the trainers and the stats writers (about a second).
    import torch

    from mlagents_fast.run.restore import restore_all
    from mlagents_fast.run.timers import add_version_metadata, reset_timers
    from mlagents_fast.run.writers import default_stats_writers
    from mlagents_fast.trainers.controller import TrainerController
    from mlagents_fast.trainers.curriculum import Curriculum

    # Small networks are slowed down by intra-op threads; ML-Agents uses half the cores, at most 4.
    torch.set_num_threads(max(min((os.cpu_count() or 2) // 2, 4), 1))
    reset_timers()  # timers.json holds this run's timings only, even when runs share a process
    add_version_metadata()  # timers.json's metadata, as ML-Agents writes it
    seed = int(env_settings.seed)
    if seed == -1:
        seed = int(np.random.randint(0, 10000))
        logger.info(f"No seed given; using seed {seed}.")
    device = torch_device(opts.torch_settings.device)
    status = TrainingStatus.load(paths.training_status_path) if checkpoint.resume else TrainingStatus(
        paths.training_status_path)  # fmt: skip
    parameters = starting_parameters(opts, status)
    # Python and gymnasium environments in worker processes: ML-Agents' restart limits and timeout_wait.
    process_options = stepper_options(
        env_settings.timeout_wait,
        env_settings.max_lifetime_restarts,
        env_settings.restarts_rate_limit_n,
        env_settings.restarts_rate_limit_period_s,
    )
    existed = paths.run_dir.exists()  # (Unity players' logs go into run_logs/ as they start)
    envs = environments_for(env_settings.env_path, list(opts.behaviors), int(env_settings.num_envs), seed, parameters,
                            num_areas=int(env_settings.num_areas), process_options=process_options,
                            unity=unity_launch(opts, paths.run_dir / "run_logs"))  # fmt: skip
    _note_unused_process_settings(opts, envs)
    registry = StatsRegistry()  # this run's writers only, even when several runs share a process
    writers: list[StatsWriter] = []
    try:
        runs = _behavior_runs(opts, envs, paths, status, registry, seed, device)
        restore_all(runs, checkpoint.resume, init_dir)
        made_for_players = not existed and paths.run_dir.exists()  # (checked above, before it was made)
        prepare_run_directory(paths, checkpoint.resume, checkpoint.force or made_for_players,
                              checkpoint.initialize_from)  # fmt: skip
        writers = default_stats_writers(paths.run_dir, checkpoint.resume)
        for writer in writers:
            registry.add_writer(writer)

        def write_configuration() -> None:
            write_run_options(paths.run_dir, opts.to_dict())

        curriculum = Curriculum(opts.environment_parameters or {}, status)
        TrainerController(runs, paths, status, write_configuration, training=not checkpoint.inference,
                          curriculum=curriculum).start_learning()  # fmt: skip
    finally:
        for env in {id(e): e for e in envs.values()}.values():
            env.close()
        for writer in writers:
            close = getattr(writer, "close", None)
            if callable(close):
                close()


def unity_launch(opts: RunOptions, log_folder: Path) -> Any:
    """How this run starts Unity players or reaches the Editor, should its environment be Unity's."""
    from mlagents_fast.envs.unity.launch import UnityLaunch

    env, engine = opts.env_settings, opts.engine_settings
    return UnityLaunch(
        env.env_path, base_port=int(env.base_port), timeout_wait=float(env.timeout_wait),
        no_graphics=bool(engine.no_graphics), env_args=tuple(env.env_args or ()), log_folder=log_folder,
        engine=engine,
        max_lifetime_restarts=int(env.max_lifetime_restarts), restarts_rate_limit_n=int(env.restarts_rate_limit_n),
        restarts_rate_limit_period_s=float(env.restarts_rate_limit_period_s),
    )  # fmt: skip


PROCESS_SETTINGS = ("timeout_wait", "max_lifetime_restarts", "restarts_rate_limit_n", "restarts_rate_limit_period_s")


def _note_unused_process_settings(opts: RunOptions, envs: dict[str, VectorEnv]) -> None:
    """The restart and timeout settings act on environments in worker processes only: when the
    user changed one and no environment of the run has workers, say so once, never silently."""
    from mlagents_fast.envs.python.process import ProcessVectorEnv

    defaults = EnvironmentSettings()
    changed = [f"--{key.replace('_', '-')}" for key in PROCESS_SETTINGS
               if getattr(opts.env_settings, key) != getattr(defaults, key)]  # fmt: skip
    from mlagents_fast.envs.unity.vector import UnityVectorEnv

    with_processes = (ProcessVectorEnv, UnityVectorEnv)  # (TeamsVectorEnv wraps the environment it adapts)
    if changed and not any(isinstance(getattr(env, "env", env), with_processes) for env in envs.values()):
        logger.warning(f"{', '.join(changed)}: {'this applies' if len(changed) == 1 else 'these apply'} only to "
                       "environments run in worker processes (Python and gymnasium ones, when the process stepper "
                       "runs them) and to Unity players; this run has none, so it is not used.")  # fmt: skip


def starting_parameters(opts: RunOptions, status: TrainingStatus) -> dict[str, Any]:
    """Each environment parameter's setting at the start: its lesson's value (a number or a sampler).

    The lesson is the one a resumed run had reached (training_status.json), else the legacy
    --lesson (past a curriculum's last lesson an error, where ML-Agents 0.x clamped it), else the
    first; it is recorded as the parameter's lesson_num in training_status.json."""
    parameters: dict[str, Any] = {}
    for name, setting in (opts.environment_parameters or {}).items():
        for index, each in enumerate(setting.curriculum):
            criteria = each.completion_criteria
            if criteria is not None and criteria.behavior not in opts.behaviors:
                raise UnityTrainerException(
                    f"environment_parameters.{name}.curriculum[{index}].completion_criteria.behavior: "
                    f"{criteria.behavior!r} is not a behavior of this run; expected one of "
                    f"{', '.join(sorted(opts.behaviors))}."
                )
        last = len(setting.curriculum) - 1
        saved = status.lesson_num(name) if opts.checkpoint_settings.resume else None
        # --lesson applies to curricula; a constant or sampled parameter has only lesson 0
        lesson = saved if saved is not None else int(opts.start_lesson or 0) if last > 0 else 0
        if lesson > last:
            source = "the resumed run's training_status.json" if saved is not None else f"--lesson {lesson}"
            raise UnityTrainerException(f"{source}: environment parameter {name} has lessons 0 to {last}; "
                                        f"expected a lesson from 0 to {last}.")  # fmt: skip
        status.set_lesson_num(name, lesson)
        parameters[name] = setting.curriculum[lesson].value
        if last > 0:
            logger.info(f"Environment parameter {name}: starting in lesson {lesson} "
                        f"('{setting.curriculum[lesson].name}') of {last + 1}.")  # fmt: skip
    return parameters


def _behavior_runs(opts: RunOptions, envs: dict[str, VectorEnv], paths: RunPaths, status: TrainingStatus,
                   registry: StatsRegistry, seed: int, device: torch.device) -> list[BehaviorRun]:  # fmt: skip
    from mlagents_fast.run.checkpoints import CheckpointManager
    from mlagents_fast.run.stats import StatsReporter
    from mlagents_fast.trainers.controller import BehaviorRun
    from mlagents_fast.trainers.registry import trainer_factory

    runs = []
    rotation = None  # the self-play team rotation, one for the run (ML-Agents' GhostController)
    for offset, (name, env) in enumerate(envs.items()):
        settings = opts.behaviors[name]
        check_trainable(name, settings)
        make_trainer = trainer_factory(settings.trainer_type)
        trainer = make_trainer(name, env.behavior_specs[name], settings, env.num_agents(name), seed=seed + offset,
                               device=device, training=not opts.checkpoint_settings.inference)  # fmt: skip
        if settings.self_play is not None:
            trainer = _self_play(name, env, trainer, settings, seed + offset, rotation)
            rotation = trainer.rotation
        manager = CheckpointManager(name, paths.behavior_dir(name), status, settings.keep_checkpoints,
                                    paths.final_model_path(name))  # fmt: skip
        runs.append(BehaviorRun(name, env, trainer, settings, StatsReporter(name, registry), manager))
    return runs


def _self_play(name: str, env: VectorEnv, trainer: Any, settings: TrainerSettings, seed: int,
               rotation: Any) -> Any:  # fmt: skip
    """The ghost trainer around `trainer`, for a behavior whose agents play in teams; `rotation`:
    the run's team rotation (None for the first self-play behavior, which makes it)."""
    from mlagents_fast.trainers.ghost.trainer import GhostTrainer

    teams = env.teams(name)
    if teams is None:
        raise UnityTrainerException(
            f"`behaviors.{name}.self_play` needs agents of {name!r} in teams: behaviors named {name}?team=<id> "
            f"(two teams or more, as ML-Agents' self-play games name them); environment {env.name!r} has "
            f"{', '.join(map(repr, env.behavior_specs))}. Remove `self_play`, or give the teams their ids."
        )
    assert settings.self_play is not None
    return GhostTrainer(trainer, settings.self_play, teams, rotation, seed)


def check_trainable(name: str, settings: TrainerSettings) -> None:
    """Refuse, before anything is written, a behavior whose demonstrations are missing or that asks
    for what this trainer does not do yet: a setting must never be accepted and then ignored."""
    demos = {f"behaviors.{name}.reward_signals.{signal}.demo_path": getattr(value, "demo_path", None)
             for signal, value in settings.reward_signals.items()}  # fmt: skip
    if settings.behavioral_cloning is not None:
        demos[f"behaviors.{name}.behavioral_cloning.demo_path"] = settings.behavioral_cloning.demo_path
    for key, demo_path in demos.items():
        if demo_path is not None and not Path(demo_path).exists():
            raise UnityTrainerException(
                f"`{key}`: the demonstration file or folder {demo_path!r} does not exist (relative paths are "
                f"taken from the working directory, {Path.cwd()}). Record one with the demonstration recorder, or "
                "fix the path."
            )
    from mlagents_fast.reward_signals.registry import available_reward_signals
    from mlagents_fast.trainers.registry import trainer_types

    unpaid = sorted(set(settings.reward_signals) - set(available_reward_signals()))
    not_yet = [
        ("trainer_type", f"trainer_type {settings.trainer_type!r}", settings.trainer_type not in trainer_types()),
        ("reward_signals", f"the reward signal {unpaid[0]!r}" if unpaid else "", bool(unpaid)),
        (
            "network_settings.memory",
            f"recurrent networks (memory) with trainer_type {settings.trainer_type!r}",
            settings.network_settings.memory is not None and settings.trainer_type not in ("ppo", "sac", "poca"),
        ),
    ]
    for key, what, asked in not_yet:
        if asked:
            raise UnityTrainerException(
                f"`behaviors.{name}.{key}` asks for {what}, which mlagents-fast does not do yet: it trains PPO, "
                f"SAC and POCA with the reward signals {', '.join(available_reward_signals())} and behavioral "
                "cloning, memory (LSTM), and self-play. Remove the "
                "setting to train without it."
            )


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["record"]:
        from mlagents_fast.record import main as record_main

        return record_main(arguments[1:])
    if arguments[:1] == ["upgrade-config"]:
        from mlagents_fast.config.upgrade import main as upgrade_main

        return int(upgrade_main(arguments[1:]) or 0)
    try:
        configure_logging("--debug" in arguments)  # notices given while the command line is read look like the rest
        if not {"-h", "--help"} & set(arguments):  # a plugin trainer_type must parse (not needed for --help)
            from mlagents_fast.trainers.registry import load_plugins

            load_plugins()
        options = parse_command_line(arguments)
        configure_logging(bool(options.debug))
        run_training(options)
    except USER_ERRORS as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # before training started or after it saved; inside it, Ctrl+C stops the loop
        print("Interrupted (Ctrl+C) outside the training loop; every file written before it is complete.",
              file=sys.stderr)  # fmt: skip
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
