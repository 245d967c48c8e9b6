"""What the run loop needs of a trainer, whatever its algorithm."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from mlagents_fast.config.trainer_settings import TrainerSettings
from mlagents_fast.envs.vector import StepBatch
from mlagents_fast.spec import ActionTuple, BehaviorSpec
from mlagents_fast.trainers.stats import Stat

if TYPE_CHECKING:
    import torch


class Trainer(Protocol):
    """Trains one behavior's policy over `num_agents` agent slots of a batched environment.

    Each step the run loop calls `act` (choose every slot's actions, writing them into the
    environment's action arrays), steps the environments, then calls `record` with the outcome.
    A trainer updates its policy when it has the experience to (inside `act` or `record`).
    """

    behavior: str
    spec: BehaviorSpec
    settings: TrainerSettings
    step: int  # agent-steps taken by this behavior (ML-Agents' trainer step)
    training: bool  # False: act with the policy, never update it (--inference, or max_steps reached)

    def act(self, batch: StepBatch, actions: ActionTuple) -> None: ...

    def record(self, batch: StepBatch) -> None: ...

    def drain_stats(self) -> list[Stat]:
        """The stats gathered since the last call, reduced, by ML-Agents' names."""
        ...

    def mean_recent_return(self) -> float | None:
        """The mean return of the recent episodes (recorded with each checkpoint)."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs (tensors and plain values, loadable with weights_only)."""
        ...

    def load_state_dict(self, state: dict[str, Any], *, reset_step: bool = False) -> None:
        """Restore `state_dict`'s output; `reset_step` (--initialize-from) keeps the step at 0."""
        ...

    def export_policy(self, path: Path) -> None:
        """Write the policy as ML-Agents' ONNX model."""
        ...

    def wait_for_update(self) -> None:
        """Finish an update running in the background, if any."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class SavesFiles(Protocol):
    """Optional for a trainer: files it keeps beside its checkpoints (SAC's replay buffer). The run
    loop calls `save_files` after each checkpoint; `--resume` calls `load_files` after the state."""

    def save_files(self, folder: Path) -> None: ...

    def load_files(self, folder: Path) -> None: ...


@runtime_checkable
class EndsEpisodes(Protocol):
    """Optional for a trainer: the environments were reset mid-episode (a curriculum lesson that
    asks for `require_reset`); forget the episodes in progress without reporting them, as
    ML-Agents' `end_episode` drops its agents' unfinished trajectories."""

    def end_episodes(self) -> None: ...


class TeamChanges(Protocol):
    def take_change(self) -> bool: ...


@runtime_checkable
class RotatesTeams(Protocol):
    """Optional for a trainer: self-play, whose learning team changes (`rotation`, shared by the
    run's self-play trainers); the run loop then resets the environments, as ML-Agents does."""

    rotation: TeamChanges


class TrainerFactory(Protocol):
    """How the registry builds a trainer (a trainer class's constructor has this signature)."""

    def __call__(
        self, behavior: str, spec: BehaviorSpec, settings: TrainerSettings, num_agents: int, *, seed: int,
        device: torch.device | str, training: bool,
    ) -> Trainer: ...  # fmt: skip
