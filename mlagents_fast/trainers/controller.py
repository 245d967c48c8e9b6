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
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from mlagents_fast.config.settings import unstructure
from mlagents_fast.config.trainer_settings import TrainerSettings
from mlagents_fast.envs.vector import VectorEnv
from mlagents_fast.run.checkpoints import CheckpointManager
from mlagents_fast.run.directories import RunPaths
from mlagents_fast.run.stats import StatsAggregationMethod, StatsPropertyType, StatsReporter
from mlagents_fast.run.status import TrainingStatus
from mlagents_fast.run.timers import hierarchical_timer, write_timing_tree
from mlagents_fast.trainers.curriculum import Curriculum
from mlagents_fast.trainers.protocol import EndsEpisodes, RotatesTeams, SavesFiles, Trainer
from mlagents_fast.trainers.stats import EPISODE_RETURN

logger = logging.getLogger(__name__)

PROGRESS_PERIOD_S = 0.1


@dataclass
class BehaviorRun:
    """One behavior being trained: its environment, trainer, stats and checkpoints."""

    name: str
    env: VectorEnv
    trainer: Trainer
    settings: TrainerSettings
    stats: StatsReporter
    checkpoints: CheckpointManager
    next_summary: int = 0  # set from the trainer's step when the loop starts
    next_checkpoint: int = 0
    next_progress: float = 0.0  # time.monotonic() after which the progress line hears the step again

    def schedule_from(self, step: int) -> None:
        """The next summary and checkpoint after `step` (0, or a resumed run's)."""
        summary, interval = self.settings.summary_freq, self.settings.checkpoint_interval
        self.next_summary = (step // summary + 1) * summary
        self.next_checkpoint = (step // interval + 1) * interval

    @property
    def init_path(self) -> str | None:
        return self.settings.init_path

    @property
    def latest_checkpoint(self) -> Path:
        return self.checkpoints.latest_path

    @property
    def finished(self) -> bool:
        return self.trainer.step >= self.settings.max_steps


Handler = Callable[[int, FrameType | None], Any] | int | None


def _install(handlers: dict[signal.Signals, Handler]) -> dict[signal.Signals, Handler]:
    """Install these signal handlers; returns those they replace. Outside the main thread (a
    run started from a thread) Python cannot take signals, so nothing changes. A handler that
    was not set from Python (None) comes back as the default."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {number: signal.signal(number, signal.SIG_DFL if handler is None else handler)
            for number, handler in handlers.items()}  # fmt: skip


class TrainerController:
    def __init__(
        self,
        runs: list[BehaviorRun],
        paths: RunPaths,
        status: TrainingStatus,
        write_configuration: Callable[[], None],
        training: bool = True,
        curriculum: Curriculum | None = None,
    ) -> None:
        self.runs, self.paths, self.status = runs, paths, status
        self.write_configuration = write_configuration
        self.training = training
        self.curriculum = curriculum if curriculum else None  # (only one whose lessons can advance)
        self.lesson_numbers: dict[str, int] = curriculum.lesson_numbers() if curriculum is not None else {}
        self.envs: list[VectorEnv] = list({id(r.env): r.env for r in runs}.values())
        self.rotations = list({id(r.trainer.rotation): r.trainer.rotation for r in runs
                               if isinstance(r.trainer, RotatesTeams)}.values())  # fmt: skip
        self._stop_requested = False
        self._saving = False  # while True, Ctrl+C never raises: a torn torch.save is a traceback

    def start_learning(self) -> None:
        """Train until every behavior reaches max_steps (or is interrupted), then save everything.

        Without training (--inference) the policies run until Ctrl+C or SIGTERM, as in ML-Agents."""
        # Ctrl+C and SIGTERM only ask the loop to stop after the current step: a KeyboardInterrupt
        # raised inside a checkpoint write would tear torch's zip writer and end the run with a
        # traceback. A second Ctrl+C interrupts a step at once, but never a save.
        handlers = _install({signal.SIGTERM: self._on_sigterm, signal.SIGINT: self._on_sigint})
        start = time.monotonic()
        try:
            # timers.json gets ML-Agents' node names: start_learning > advance > env_step ...
            with hierarchical_timer("TrainerController.start_learning"):
                try:
                    for run in self.runs:
                        run.schedule_from(run.trainer.step)
                        run.stats.add_property(StatsPropertyType.HYPERPARAMETERS, unstructure(run.settings))
                        if hasattr(run.trainer, "current_elo"):  # self-play: the console reports the ELO
                            run.stats.add_property(StatsPropertyType.SELF_PLAY, True)
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
                _install(handlers)

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
        for env in self.envs:  # a Unity game's own stats (its StatsRecorder) go to every behavior it trains
            stats = env.game_stats()
            if stats:
                self._report_game_stats(env, stats)
        for run in self.runs:
            self._report(run)
        if self.curriculum is not None:  # (with --inference too, as ML-Agents)
            self._advance_lessons(self.curriculum)
        if any([rotation.take_change() for rotation in self.rotations]):  # another team learns: fresh games
            self._reset_environments()

    def _advance_lessons(self, curriculum: Curriculum) -> None:
        """ML-Agents' reset_env_if_ready: lessons whose criteria hold advance; the environments
        take the new values at each episode's next reset, or at once when a finished lesson asks
        for `require_reset` (the trainers then forget the episodes in progress)."""
        steps = {run.name: run.trainer.step for run in self.runs}
        updated, must_reset = curriculum.update(steps, {run.name: run.settings.max_steps for run in self.runs})
        if not updated:
            return
        self.lesson_numbers = curriculum.lesson_numbers()
        values = curriculum.values()
        for env in self.envs:
            env.set_parameters(values)
        if must_reset:
            self._reset_environments()

    def _reset_environments(self) -> None:
        """Every environment starts new episodes; the trainers forget the ones in progress."""
        for env in self.envs:
            env.reset()
        for run in self.runs:
            if isinstance(run.trainer, EndsEpisodes):
                run.trainer.end_episodes()

    def _report_game_stats(self, env: VectorEnv, stats: dict[str, list[tuple[float, StatsAggregationMethod]]]) -> None:
        for run in self.runs:
            if run.env is not env:
                continue
            for key, values in stats.items():
                for value, aggregation in values:
                    if aggregation == StatsAggregationMethod.MOST_RECENT:
                        run.stats.set_stat(key, value)
                    else:
                        run.stats.add_stat(key, value, aggregation)

    def _report(self, run: BehaviorRun) -> None:
        for stat in run.trainer.drain_stats():
            for value in stat.values:
                run.stats.add_stat(stat.key, value, stat.aggregation)
            if self.curriculum is not None and stat.key == EPISODE_RETURN:  # (a reward-measured lesson's)
                self.curriculum.add_returns(run.name, list(stat.values))
        step = run.trainer.step
        now = time.monotonic()
        if now >= run.next_progress:  # drives the progress line on a terminal; ten times a second is enough
            run.stats.set_stat("Step", float(step))
            run.next_progress = now + PROGRESS_PERIOD_S
        if step >= run.next_summary:
            run.stats.set_stat("Is Training", float(run.trainer.training))
            for parameter, lesson in self.lesson_numbers.items():  # (ML-Agents sets them every step)
                run.stats.set_stat(f"Environment/Lesson Number/{parameter}", float(lesson))
            run.stats.write_stats(run.next_summary)  # labelled with the boundary, as ML-Agents does
            freq = run.settings.summary_freq
            run.next_summary = (step // freq + 1) * freq
        self._freeze_if_finished(run)
        if self.training and step >= run.next_checkpoint:  # also past max_steps, as ML-Agents
            self._save(run)
            interval = run.settings.checkpoint_interval
            run.next_checkpoint = (step // interval + 1) * interval

    def _freeze_if_finished(self, run: BehaviorRun) -> None:
        """max_steps reached while other behaviors train on: this policy keeps acting, frozen."""
        if self.training and run.finished and run.trainer.training:
            run.trainer.wait_for_update()
            run.trainer.training = False

    def _save(self, run: BehaviorRun) -> None:
        trainer = run.trainer
        reward = trainer.mean_recent_return()
        saving, self._saving = self._saving, True
        try:
            with hierarchical_timer("save_model"):
                elo = getattr(trainer, "current_elo", None)
                if elo is not None:  # self-play: training_status.json keeps the ELO, as ML-Agents'
                    with self.status.lock:
                        self.status.set_elo(run.name, elo)
                run.checkpoints.save(trainer.step, trainer.state_dict(), reward, trainer.export_policy)
                if isinstance(trainer, SavesFiles):  # (files beside the checkpoints, SAC's replay buffer)
                    trainer.save_files(run.checkpoints.behavior_dir)
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
