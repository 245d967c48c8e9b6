"""`mlagents-learn` / `mlagents-fast`: parse the command line and configuration, then train.

mlagents-learn config/ppo/3DBall.yaml --run-id=first
mlagents-fast upgrade-config OLD.yaml NEW.yaml [--curriculum FILE] [--sampler FILE]
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

import numpy as np
import torch

from mlagents_fast.config.cli import parse_command_line
from mlagents_fast.config.errors import ConfigError
from mlagents_fast.config.settings import RunOptions
from mlagents_fast.envs.parameters import ParameterError
from mlagents_fast.run.checkpoints import CheckpointManager
from mlagents_fast.run.directories import RunPaths, prepare_run_directory, setup_init_paths, write_run_options
from mlagents_fast.run.errors import CheckpointLoadError, TrainerError, UnityTrainerException
from mlagents_fast.run.log import configure_logging
from mlagents_fast.run.stats import StatsReporter
from mlagents_fast.run.status import TrainingStatus
from mlagents_fast.run.writers import default_stats_writers
from mlagents_fast.spec import ActionError
from mlagents_fast.trainers.controller import BehaviorRun, TrainerController, restore
from mlagents_fast.trainers.environments import EnvironmentSetupError, environments_for
from mlagents_fast.trainers.ppo import PPOTrainer

logger = logging.getLogger("mlagents_fast.learn")

# Errors that are the user's to fix: one paragraph and a non-zero exit, never a traceback.
USER_ERRORS = (ConfigError, EnvironmentSetupError, ParameterError, UnityTrainerException, TrainerError,
               CheckpointLoadError, ActionError)  # fmt: skip


def torch_device(requested: str | None) -> torch.device:
    """--torch-device, else CUDA when present, else the CPU."""
    if requested:
        return torch.device(requested)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def run_training(opts: RunOptions) -> None:
    checkpoint, env_settings = opts.checkpoint_settings, opts.env_settings
    # Small networks are slowed down by intra-op threads; ML-Agents uses half the cores, at most 4.
    torch.set_num_threads(max(min((os.cpu_count() or 2) // 2, 4), 1))
    seed = int(env_settings.seed)
    if seed == -1:
        seed = int(np.random.randint(0, 10000))
        logger.info(f"No seed given; using seed {seed}.")
    paths = RunPaths.of(checkpoint.results_dir, checkpoint.run_id)
    init_dir = prepare_run_directory(paths, checkpoint.resume, checkpoint.force, checkpoint.initialize_from)
    status = TrainingStatus.load(paths.training_status_path) if checkpoint.resume else TrainingStatus(
        paths.training_status_path)  # fmt: skip
    for writer in default_stats_writers(paths.run_dir, checkpoint.resume):
        StatsReporter.add_writer(writer)
    device = torch_device(opts.torch_settings.device)
    behaviors = opts.behaviors
    parameters = {name: setting.curriculum[0].value for name, setting in (opts.environment_parameters or {}).items()}
    envs = environments_for(env_settings.env_path, list(behaviors), int(env_settings.num_envs), seed, parameters)
    training = not checkpoint.inference
    runs = []
    for offset, (name, env) in enumerate(envs.items()):
        settings = behaviors[name]
        if str(settings.trainer_type) != "ppo":
            raise UnityTrainerException(f"Behavior {name}: trainer_type {settings.trainer_type!r} is not available "
                                        "yet; use ppo.")  # fmt: skip
        trainer = PPOTrainer(name, env.behavior_specs[name], settings, env.num_agents(name), seed=seed + offset,
                             device=device, training=training)  # fmt: skip
        manager = CheckpointManager(name, paths.behavior_dir(name), status, int(settings.keep_checkpoints),
                                    paths.final_model_path(name))  # fmt: skip
        interval = int(settings.checkpoint_interval)
        if settings.even_checkpoints:
            interval = max(1, int(settings.max_steps) // max(1, int(settings.keep_checkpoints)))
            settings.checkpoint_interval = interval
        runs.append(BehaviorRun(name, env, trainer, settings, StatsReporter(name), manager,
                                int(settings.summary_freq), interval, []))  # fmt: skip
    for run in runs:
        if checkpoint.resume:
            restore(run, run.checkpoints.latest_path, weights_only=False)
        elif init_dir is not None:
            inits = setup_init_paths({run.name: run.settings.init_path}, init_dir)
            restore(run, inits[run.name], weights_only=True)
        elif run.settings.init_path:
            restore(run, paths.results_dir / str(run.settings.init_path), weights_only=True)

    def write_configuration() -> None:
        write_run_options(paths.run_dir, opts.to_dict())

    controller = TrainerController(runs, paths, status, write_configuration, training=training)
    try:
        controller.start_learning()
    finally:
        for env in {id(e): e for e in envs.values()}.values():
            env.close()


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["upgrade-config"]:
        from mlagents_fast.config.upgrade import main as upgrade_main

        return int(upgrade_main(arguments[1:]) or 0)
    try:
        options = parse_command_line(arguments)
        configure_logging(bool(options.debug))
        run_training(options)
    except USER_ERRORS as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
