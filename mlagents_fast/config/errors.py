"""Errors raised while reading a configuration, each one readable paragraph.

`SettingError` comes from a settings object that was built with a bad value; it only knows
the field. `ConfigError` is what users see: it names where the value came from (a file, or
the command line), the full dotted key, what was expected, what was found and, for a
misspelled key, the closest valid one.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class SettingError(ValueError):
    """A settings object was given a value outside its rules (`key` is relative to that object)."""

    def __init__(self, key: str, expected: str, found: object) -> None:
        self.key = key
        self.expected = expected
        self.found = found
        super().__init__(f"`{key}`: expected {expected}, found {show(found)}.")


class ConfigError(ValueError):
    """A configuration that cannot be used; the message is one paragraph meant for the user."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        key: str | None = None,
        suggestion: str | None = None,
    ) -> None:
        self.source = source
        self.key = key
        self.suggestion = suggestion
        super().__init__(message)

    @classmethod
    def invalid(
        cls,
        source: str,
        key: str,
        expected: str,
        found: str,
        suggestion: str | None = None,
        written_as: str | None = None,
    ) -> ConfigError:
        """The standard message: where, which key, what was expected and what was found.

        `written_as`: the key as an older-format file writes it, when it was upgraded to `key`."""
        where = f" at `{key}`" if key else ""
        if written_as is not None:
            where = f" at `{written_as}` (`{key}` in the current format)"
        message = f"Invalid configuration in {source}{where}: expected {expected}, found {found}."
        if suggestion is not None:
            message += f" Did you mean `{suggestion}`?"
        return cls(message, source=source, key=key, suggestion=suggestion)


def show(value: object) -> str:
    """A value as it would be written in YAML, short enough for one line."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    text = repr(value) if not isinstance(value, (int, float)) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The valid name nearest to a misspelled one, or None when nothing is close."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None


def join_path(parent: str, child: str | int) -> str:
    """Dotted key of a child: `a.b` + `c` -> `a.b.c`; list positions are written `a[2]`."""
    if isinstance(child, int):
        return f"{parent}[{child}]"
    return f"{parent}.{child}" if parent else child
