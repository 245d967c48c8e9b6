"""`mlagents-fast upgrade-config OLD NEW [--curriculum FILE|FOLDER] [--sampler FILE]`.

Rewrites an ML-Agents 0.x or 0.17-0.18 configuration (and the separate curriculum and sampler
files of the old command line) in the current format. Behaviors are written fully resolved, as
ML-Agents' own upgrade script does, so the new file shows every default it trains with. The
result is checked by loading it before anything is written.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from mlagents_fast.config import legacy
from mlagents_fast.config.errors import ConfigError
from mlagents_fast.config.loader import read_config, run_options_from_dict
from mlagents_fast.config.settings import unstructure
from mlagents_fast.config.yaml_io import write_yaml


def remove_nones(value: Any) -> Any:
    """Drops null entries of mappings (they are the defaults), keeping the file short."""
    if isinstance(value, Mapping):
        return {key: remove_nones(item) for key, item in value.items() if item is not None}
    return value


def upgraded_config(
    old: str | os.PathLike[str],
    curriculum: str | os.PathLike[str] | None = None,
    sampler: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """The current-format configuration for `old` (plus old curriculum/sampler files), checked."""
    source = os.fspath(old)
    config = read_config(source, notice=False)
    upgraded = config.data
    extra: dict[str, Any] = {}
    if sampler is not None:
        extra.update(legacy.convert_samplers(legacy.read_sampler(sampler), os.fspath(sampler)))
    if curriculum is not None:
        curricula = legacy.read_curriculum(curriculum)
        extra.update(legacy.convert_curricula(curricula, os.fspath(curriculum), set(extra)))
    if extra:
        upgraded["environment_parameters"] = legacy.merge_parameters(upgraded.get("environment_parameters"), extra)
    # raises ConfigError if the result would not load, naming the keys as the old file writes them
    options = run_options_from_dict(upgraded, source, written_as=config.written_as)
    result: dict[str, Any] = {}
    if options.default_settings is not None:
        result["default_settings"] = remove_nones(unstructure(options.default_settings))
    result["behaviors"] = {name: remove_nones(unstructure(settings)) for name, settings in options.behaviors.items()}
    for key, value in upgraded.items():
        if key not in result and value is not None:
            result[key] = value
    return result


def upgrade_config(
    old: str | os.PathLike[str],
    new: str | os.PathLike[str],
    curriculum: str | os.PathLike[str] | None = None,
    sampler: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Writes the upgraded configuration of `old` to `new` and returns what was written."""
    result = upgraded_config(old, curriculum, sampler)
    write_yaml(result, new)
    return result


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlagents-fast upgrade-config",
        description="Convert an ML-Agents 0.x-0.18 trainer configuration to the current format.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("trainer_config_path", help="Old format trainer configuration YAML.")
    parser.add_argument("output_config_path", help="Where to write the converted YAML.")
    parser.add_argument("--curriculum", default=None, help="Old curriculum file, or folder of per-behavior files.")
    parser.add_argument("--sampler", default=None, help="Old parameter randomization (sampler) YAML.")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(None if argv is None else list(argv))
    print(f"Converting {args.trainer_config_path} and saving to {args.output_config_path}.")
    try:
        upgrade_config(args.trainer_config_path, args.output_config_path, args.curriculum, args.sampler)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except OSError as err:  # the output's folder is a file, NEW is a folder, no permission...
        print(f"error: could not write {args.output_config_path}: {err.strerror or err}. Give the path of a "
              "file in a folder you can write to.", file=sys.stderr)  # fmt: skip
        return 1
    return 0
