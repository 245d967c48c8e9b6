"""ML-Agents' hyperparameter schedules: `constant`, or `linear` decay to a floor at max_steps."""

from __future__ import annotations

from typing import Any

# Floors of the linear schedules (ModelUtils.DecayedValue in ML-Agents).
LEARNING_RATE_FLOOR = 1e-10
EPSILON_FLOOR = 0.1
BETA_FLOOR = 1e-5


def schedule_name(schedule: Any) -> str:
    """A schedule given as a string or an enum whose value is the string."""
    return str(getattr(schedule, "value", schedule)).lower()


def decayed(schedule: Any, initial: float, floor: float, step: int, max_steps: int) -> float:
    """`initial` for a constant schedule; for a linear one, the straight line from `initial`
    at step 0 to `floor` at `max_steps`, then `floor`."""
    if schedule_name(schedule) == "constant":
        return initial
    progress = min(max(step, 0), max_steps) / max(max_steps, 1)
    return (initial - floor) * (1.0 - progress) + floor
