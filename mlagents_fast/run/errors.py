"""Exceptions raised while preparing, writing or resuming a run.

The names follow ML-Agents (``UnityTrainerException``, ``TrainerError``) so code that catches
them around ``mlagents-learn`` keeps working.
"""


class UnityTrainerException(Exception):
    """A run cannot start or continue: bad results folder, missing checkpoint, bad flags."""


class TrainerError(Exception):
    """``training_status.json`` cannot be used to resume (for example it has no metadata)."""


class CheckpointLoadError(UnityTrainerException):
    """A checkpoint file is missing, corrupt, truncated or holds more than plain tensors."""
