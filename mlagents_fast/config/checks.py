"""The checks every settings class runs on its own values (each raises `SettingError`)."""

from __future__ import annotations

import math
from typing import Any, get_args

from mlagents_fast.config.errors import SettingError


def _check(ok: bool, key: str, expected: str, found: object) -> None:
    if not ok:
        raise SettingError(key, expected, found)


def _choice(value: object, key: str, literal: Any) -> None:
    options: tuple[str, ...] = get_args(literal)
    _check(value in options, key, "one of " + ", ".join(options), value)


def _at_least(value: float, minimum: float, key: str, kind: str = "an integer") -> None:
    _check(value >= minimum, key, f"{kind} >= {minimum}", value)


def _positive(value: float, key: str) -> None:
    _check(value > 0 and math.isfinite(value), key, "a number > 0", value)
