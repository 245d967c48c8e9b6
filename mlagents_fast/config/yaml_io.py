"""Reading and writing configuration YAML (safe loader only), with errors that name file and line."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped, unused-ignore]  # stubs are optional

from mlagents_fast.config.errors import ConfigError
from mlagents_fast.run._atomic import atomic_write_text


class _StrictLoader(yaml.SafeLoader):  # type: ignore[misc, unused-ignore]
    """SafeLoader that refuses a key written twice in one mapping (YAML would keep the last silently)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark, f"found the key {key!r} twice", key_node.start_mark
                )
            seen.add(key)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


def read_yaml(path: str | os.PathLike[str]) -> Any:
    """Parsed contents of a YAML (or JSON) file; ConfigError if missing, unreadable or malformed."""
    where = os.fspath(path)
    try:
        text = Path(where).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"Configuration file {where} does not exist (looked for {os.path.abspath(where)}).", source=where
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(f"Configuration file {where} is not UTF-8 text; save it as UTF-8.", source=where) from None
    except OSError as err:
        raise ConfigError(f"Configuration file {where} could not be read: {err.strerror}.", source=where) from None
    return parse_yaml(text, where)


def parse_yaml(text: str, where: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = " ".join(part for part in (err.context, err.problem) if part)
        raise ConfigError(f"Configuration file {where} is not valid YAML{line}: {problem}.", source=where) from None
    except yaml.YAMLError as err:
        raise ConfigError(f"Configuration file {where} is not valid YAML: {err}.", source=where) from None


def dump_yaml(data: Any) -> str:
    """YAML text in the given key order (as ML-Agents writes configuration.yaml)."""
    text: str = yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
    return text


def write_yaml(data: Any, path: str | os.PathLike[str]) -> None:
    """Written atomically: an interrupted write leaves the previous file (or none), never half of one."""
    atomic_write_text(path, dump_yaml(data))
