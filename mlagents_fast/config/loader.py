"""Load a trainer configuration file into `RunOptions`, strictly.

Older formats (ML-Agents 0.x flat keys, 0.17-0.18 curriculum sections) are upgraded in memory
first; anything that does not fit the current schema raises `ConfigError` naming the file and
the dotted key.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

from mlagents_fast.config import legacy
from mlagents_fast.config.errors import ConfigError, show
from mlagents_fast.config.settings import RunOptions
from mlagents_fast.config.structure import Structurer
from mlagents_fast.config.yaml_io import read_yaml


@dataclasses.dataclass
class ConfigFile:
    """A configuration file's contents in the current format, not yet checked."""

    data: dict[str, Any]
    # Dotted keys of values upgraded from an older format -> the keys the file writes (errors name both).
    written_as: dict[str, str] = dataclasses.field(default_factory=dict)


def read_config(path: str | os.PathLike[str], notice: bool = True) -> ConfigFile:
    """The file, upgraded in memory if it is in an older format (an empty file gives {});
    `notice`: say so in a one-line warning."""
    source = os.fspath(path)
    raw = read_yaml(source)
    if raw is None:
        return ConfigFile({})
    if not isinstance(raw, Mapping):
        raise ConfigError.invalid(source, "", "a mapping at the top level (behaviors, env_settings, ...)", show(raw))
    return ConfigFile(dict(legacy.upgrade(raw, source, notice)), legacy.flat_key_origins(raw))


def load_config_dict(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The file's contents in the current format, not yet checked (an empty file gives {})."""
    return read_config(path).data


def run_options_from_dict(
    raw: Mapping[str, Any],
    source: str = "the configuration",
    *,
    cli_keys: Mapping[str, str] | None = None,
    written_as: Mapping[str, str] | None = None,
    require_listed: bool = True,
) -> RunOptions:
    """RunOptions from current-format data; `require_listed` makes unlisted behaviors an error
    unless `default_settings` is given (ML-Agents' rule whenever a configuration file is used)."""
    options = Structurer(source, cli_keys, written_as).run_options(raw)
    options.behaviors.require_listed = require_listed
    return options


def load_run_options(path: str | os.PathLike[str]) -> RunOptions:
    """RunOptions from a YAML file in any supported format."""
    config = read_config(path)
    return run_options_from_dict(config.data, os.fspath(path), written_as=config.written_as)
