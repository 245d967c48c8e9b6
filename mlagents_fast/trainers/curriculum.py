"""Curriculum lessons that advance, with ML-Agents' semantics (its EnvironmentParameterManager).

Each environment parameter is a list of lessons; a lesson with `completion_criteria` is done
when its behavior has finished at least `min_lesson_length` episodes since the lesson began
and its measure passes `threshold`:

- `progress`: the behavior's steps / its `max_steps`;
- `reward`: the mean return of its recent episodes (a buffer as long as the longest
  `min_lesson_length` of its lessons, cleared when any lesson changes), smoothed as
  0.25 x the previous smoothed value + 0.75 x the mean when `signal_smoothing` is on.

The lesson of each parameter lives in training_status.json (`lesson_num`), so `--resume` goes
on from it. The run loop checks every step (`update`), logs
`Environment/Lesson Number/<parameter>`, and sends the new values to the environments, which
use them from each episode's next reset, or at once when the finished lesson asks for
`require_reset`.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Mapping

import numpy as np

from mlagents_fast.config.settings import CompletionCriteriaSettings, EnvironmentParameterSettings, sampler_to_dict
from mlagents_fast.envs.parameters import Sampler
from mlagents_fast.run.status import TrainingStatus

logger = logging.getLogger(__name__)

SMOOTHING_KEPT = 0.25  # ML-Agents' signal smoothing: 0.25 x previous + 0.75 x current


def lesson_is_done(criteria: CompletionCriteriaSettings, progress: float, episodes: int, mean_return: float,
                   smoothed: float) -> tuple[bool, float]:  # fmt: skip
    """ML-Agents' `CompletionCriteriaSettings.need_increment` on the behavior's recent `episodes`
    returns (their mean `mean_return`): (done, the new smoothed value)."""
    if episodes < criteria.min_lesson_length:
        return False, smoothed
    if criteria.measure == "progress":
        return progress > criteria.threshold, smoothed
    if not episodes or math.isnan(mean_return):
        return False, smoothed
    measure = mean_return
    if criteria.signal_smoothing:
        measure = SMOOTHING_KEPT * smoothed + (1.0 - SMOOTHING_KEPT) * measure
        smoothed = measure
    return measure > criteria.threshold, smoothed


def describe(sampler: Sampler) -> str:
    """A lesson's value as the console shows it: the number, or the sampler's settings."""
    if sampler.kind == "constant":
        return f"{sampler.intervals[0][0]:g}"
    return str(sampler_to_dict(sampler))


class Curriculum:
    """Every environment parameter's current lesson, and the recent returns that advance them."""

    def __init__(self, parameters: Mapping[str, EnvironmentParameterSettings], status: TrainingStatus) -> None:
        self.parameters, self.status = dict(parameters), status
        self.smoothed = dict.fromkeys(self.parameters, 0.0)
        sizes: dict[str, int] = {}
        for setting in self.parameters.values():
            for lesson in setting.curriculum:
                criteria = lesson.completion_criteria
                if criteria is not None:
                    sizes[criteria.behavior] = max(sizes.get(criteria.behavior, 1), criteria.min_lesson_length)
        self.returns = {behavior: deque[float](maxlen=size) for behavior, size in sizes.items()}
        self._means: dict[str, float] = {}

    def __bool__(self) -> bool:
        return any(len(setting.curriculum) > 1 for setting in self.parameters.values())

    def lesson(self, parameter: str) -> int:
        return self.status.lesson_num(parameter) or 0

    def lesson_numbers(self) -> dict[str, int]:
        return {name: self.lesson(name) for name in self.parameters}

    def values(self) -> dict[str, Sampler]:
        """Each parameter's value in its current lesson."""
        return {name: setting.curriculum[self.lesson(name)].value for name, setting in self.parameters.items()}

    def add_returns(self, behavior: str, returns: list[float]) -> None:
        """Episode returns the behavior just finished."""
        buffer = self.returns.get(behavior)
        if buffer is not None:
            buffer.extend(returns)
            self._means.pop(behavior, None)

    def _mean_return(self, behavior: str) -> float:
        """The buffer's mean, kept until its returns change (the loop asks every step)."""
        mean = self._means.get(behavior)
        if mean is None:
            buffer = self.returns[behavior]
            mean = self._means[behavior] = float(np.mean(buffer)) if buffer else math.nan
        return mean

    def update(self, steps: Mapping[str, int], max_steps: Mapping[str, int]) -> tuple[bool, bool]:
        """Advance every parameter whose lesson is done; (any advanced, an environment reset is due)."""
        updated = must_reset = False
        for name, setting in self.parameters.items():
            number = self.lesson(name)
            criteria = setting.curriculum[number].completion_criteria
            if criteria is None or number + 1 >= len(setting.curriculum) or criteria.behavior not in steps:
                continue
            progress = steps[criteria.behavior] / max(max_steps[criteria.behavior], 1)
            behavior = criteria.behavior
            done, self.smoothed[name] = lesson_is_done(criteria, progress, len(self.returns[behavior]),
                                                       self._mean_return(behavior), self.smoothed[name])  # fmt: skip
            if done:
                self.status.set_lesson_num(name, number + 1)
                lesson = setting.curriculum[number + 1]
                logger.info(f"Parameter '{name}' has been updated to {describe(lesson.value)}. Now in lesson "
                            f"{number + 1} ('{lesson.name}').")  # fmt: skip
                updated = True
                must_reset = must_reset or criteria.require_reset
        if updated:  # as ML-Agents, every behavior's reward buffer starts over
            for buffer in self.returns.values():
                buffer.clear()
            self._means.clear()
        return updated, must_reset
