"""The training loop over every behavior of every environment, with ML-Agents' run control.

Each step: every trainer chooses actions for its behavior (one batched forward), every
environment steps once, every trainer records the outcome (and updates when its buffer
is full). Summaries go out every `summary_freq` steps and checkpoints every
`checkpoint_interval`; Ctrl+C (or SIGTERM) saves a checkpoint and ends cleanly, and the
run always ends with a final checkpoint, the final ONNX model, `configuration.yaml`,
`run_logs/timers.json` and `run_logs/training_status.json`.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np

from mlagents_fast.config.settings import unstructure
from mlagents_fast.envs.vector import VectorEnv
from mlagents_fast.export import export_onnx
from mlagents_fast.run.checkpoints import CheckpointManager, load_checkpoint
from mlagents_fast.run.directories import RunPaths
from mlagents_fast.run.errors import CheckpointLoadError
from mlagents_fast.run.stats import StatsAggregationMethod, StatsPropertyType, StatsReporter
from mlagents_fast.run.status import TrainingStatus
from mlagents_fast.run.timers import hierarchical_timer, write_timing_tree
from mlagents_fast.trainers.ppo import PPOTrainer

logger = logging.getLogger(__name__)

HISTOGRAM_STATS = {"Environment/Cumulative Reward"}
REWARD_WINDOW = 100  # episodes behind the reward recorded with a checkpoint
PROGRESS_PERIOD_S = 0.1


@dataclass
class BehaviorRun:
    """One behavior being trained: its environment, trainer, stats and checkpoints."""

    name: str
    env: VectorEnv
    trainer: PPOTrainer
    settings: Any
    stats: StatsReporter
    checkpoints: CheckpointManager
    next_summary: int
    next_checkpoint: int
    recent_rewards: list[float]
    next_progress: float = 0.0  # time.monotonic() after which the progress line hears the step again

    @property
    def finished(self) -> bool:
        return self.trainer.step >= int(self.settings.max_steps)


class TrainerController:
    def __init__(
        self,
        runs: list[BehaviorRun],
        paths: RunPaths,
        status: TrainingStatus,
        write_configuration: Callable[[], None],
        training: bool = True,
    ) -> None:
        self.runs, self.paths, self.status = runs, paths, status
        self.write_configuration = write_configuration
        self.training = training
        self.envs: list[VectorEnv] = list({id(r.env): r.env for r in runs}.values())
        self._stop_requested = False
        self._saving = False  # while True, Ctrl+C never raises: a torn torch.save is a traceback

    def start_learning(self) -> None:
        """Train until every behavior reaches max_steps (or is interrupted), then save everything.

        Without training (--inference) the policies run until Ctrl+C or SIGTERM, as in ML-Agents."""
        # Ctrl+C and SIGTERM only ask the loop to stop after the current step: a KeyboardInterrupt
        # raised inside a checkpoint write would tear torch's zip writer and end the run with a
        # traceback. A second Ctrl+C interrupts a step at once, but never a save.
        previous_term = signal.signal(signal.SIGTERM, self._on_sigterm)
        previous_int = signal.signal(signal.SIGINT, self._on_sigint)
        start = time.monotonic()
        try:
            # timers.json gets ML-Agents' node names: start_learning > advance > env_step ...
            with hierarchical_timer("TrainerController.start_learning"):
                try:
                    for run in self.runs:
                        run.stats.add_property(StatsPropertyType.HYPERPARAMETERS, unstructure(run.settings))
                        self._freeze_if_finished(run)  # a resumed run's behavior may be done already
                    while not self._stop_requested and (not self.training or not all(r.finished for r in self.runs)):
                        with hierarchical_timer("TrainerController.advance"):
                            self._advance()
                except KeyboardInterrupt:  # the second Ctrl+C, inside a step
                    pass
                finally:
                    self._stop_requested, self._saving = True, True  # from here on, Ctrl+C changes nothing
                    with hierarchical_timer("TrainerController._save_models"):
                        self._save_models()
        finally:
            try:
                for run in self.runs:
                    run.trainer.close()
                self.write_configuration()
                write_timing_tree(self.paths.run_logs_dir)
                logger.info(f"Run finished in {time.monotonic() - start:.1f} s.")
            finally:
                signal.signal(signal.SIGTERM, previous_term)
                signal.signal(signal.SIGINT, previous_int)

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        logger.info("Received SIGTERM: saving and stopping.")
        self._stop_requested = True

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        if self._stop_requested and not self._saving:
            raise KeyboardInterrupt  # asked twice: stop the step itself
        if not self._stop_requested:
            logger.info("Learning was interrupted. Please wait while the graph is generated.")
        self._stop_requested = True

    def _advance(self) -> None:
        with hierarchical_timer("env_step"):
            for run in self.runs:
                run.trainer.act(run.env.batch(run.name), run.env.actions(run.name))
            for env in self.envs:
                env.step()
            for run in self.runs:
                run.trainer.record(run.env.batch(run.name))
        for run in self.runs:
            self._report(run)

    def _report(self, run: BehaviorRun) -> None:
        for key, values in run.trainer.drain_stats().items():
            aggregation = StatsAggregationMethod.HISTOGRAM if key in HISTOGRAM_STATS else StatsAggregationMethod.AVERAGE
            if key == "Environment/Cumulative Reward":
                run.recent_rewards = (run.recent_rewards + values)[-REWARD_WINDOW:]
            if key == "Policy/Entropy":  # one value per step: average before reporting
                values = [float(np.mean(values))]
            for value in values:
                run.stats.add_stat(key, value, aggregation)
        step = run.trainer.step
        now = time.monotonic()
        if now >= run.next_progress:  # drives the progress line on a terminal; ten times a second is enough
            run.stats.set_stat("Step", float(step))
            run.next_progress = now + PROGRESS_PERIOD_S
        if step >= run.next_summary:
            run.stats.set_stat("Is Training", float(run.trainer.training))
            run.stats.write_stats(run.next_summary)  # labelled with the boundary, as ML-Agents does
            freq = int(run.settings.summary_freq)
            run.next_summary = (step // freq + 1) * freq
        self._freeze_if_finished(run)
        if self.training and step >= run.next_checkpoint:  # also past max_steps, as ML-Agents
            self._save(run)
            interval = int(run.settings.checkpoint_interval)
            run.next_checkpoint = (step // interval + 1) * interval

    def _freeze_if_finished(self, run: BehaviorRun) -> None:
        """max_steps reached while other behaviors train on: this policy keeps acting, frozen."""
        if self.training and run.finished and run.trainer.training:
            run.trainer.wait_for_update()
            run.trainer.training = False

    def _save(self, run: BehaviorRun) -> None:
        trainer = run.trainer
        reward = float(np.mean(run.recent_rewards)) if run.recent_rewards else None
        saving, self._saving = self._saving, True
        try:
            with hierarchical_timer("save_model"):
                run.checkpoints.save(trainer.step, trainer.state_dict(), reward,
                                     lambda path: export_onnx(trainer.actor, trainer.spec, path))  # fmt: skip
        finally:
            self._saving = saving

    def _save_models(self) -> None:
        if not self.training:
            return
        for run in self.runs:
            saved = run.checkpoints.checkpoints()
            if not saved or saved[-1].steps != run.trainer.step:  # the last periodic save may be this step
                self._save(run)
            run.checkpoints.final(run.trainer.step)
        self.status.save()


def restore(run: BehaviorRun, path: Path, reset_step: bool) -> None:
    """Load a checkpoint into a behavior's trainer (`reset_step` for --initialize-from).

    A checkpoint of another network (hidden_units, num_layers, observations or actions changed
    since it was saved) is one clear error: the run does not start, and nothing is written."""
    state = load_checkpoint(path)
    try:
        run.trainer.load_state_dict(state, reset_step=reset_step)
    except (KeyError, RuntimeError, ValueError, TypeError) as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        # torch's message starts "Error(s) in loading state_dict for Actor:"; the next line names the tensor.
        torch_detail = " ".join(lines[:2]).rstrip(".")
        detail = f"it has no {error.args[0]!r} entry" if isinstance(error, KeyError) else torch_detail
        raise CheckpointLoadError(
            f"Checkpoint {path} does not fit behavior {run.name}'s network as configured ({detail}). It was saved "
            "with other network_settings, observations or actions; train with the settings it was made with, "
            "or start without --resume / --initialize-from / init_path."
        ) from None
    if not reset_step:
        interval, summary = int(run.settings.checkpoint_interval), int(run.settings.summary_freq)
        run.next_checkpoint = (run.trainer.step // interval + 1) * interval
        run.next_summary = (run.trainer.step // summary + 1) * summary
