"""The `mlagents-learn` command line: every flag of ML-Agents 1.1 with its defaults, plus the
flags of older releases with their old meaning (each announced with a one-line notice).

Precedence is ML-Agents': built-in defaults < the YAML file < flags given explicitly on the
command line. A flag left at its default never overrides the YAML, so the parser records which
flags were actually typed (what ML-Agents' `DetectDefault` action does).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from mlagents_fast.config import legacy
from mlagents_fast.config.loader import ConfigFile, read_config, run_options_from_dict
from mlagents_fast.config.settings import (
    DEFAULT_BASE_PORT,
    DEFAULT_RESULTS_DIR,
    DEFAULT_RUN_ID,
    CheckpointSettings,
    EngineSettings,
    EnvironmentSettings,
    RunOptions,
    TorchSettings,
)
from mlagents_fast.config.structure import Structurer
from mlagents_fast.envs.selection import trains_unity

logger = logging.getLogger("mlagents_fast.config")

_GIVEN = "_flags_given"
# settings section of every flag that lands in one (the flag's dest is the field name)
SECTION_OF_DEST = {
    f.name: section
    for section, cls in (
        ("checkpoint_settings", CheckpointSettings),
        ("env_settings", EnvironmentSettings),
        ("engine_settings", EngineSettings),
        ("torch_settings", TorchSettings),
    )
    for f in dataclasses.fields(cls)
}
# what --slow meant: the Academy's "inference" engine configuration of ML-Agents 0.x
SLOW_ENGINE_SETTINGS = {"width": 1280, "height": 720, "quality_level": 5, "time_scale": 1.0, "target_frame_rate": 60}
# Settings only a Unity player reads (ML-Agents puts them on the player's command line or sends them
# over its engine side channel); the built-in environments have no window, renderer, clock or port.
UNITY_ONLY_SETTINGS = (
    ("env_settings", "base_port"),
    ("env_settings", "env_args"),
    *(("engine_settings", f.name) for f in dataclasses.fields(EngineSettings)),
)


def _record(namespace: argparse.Namespace, dest: str) -> None:
    namespace.__dict__.setdefault(_GIVEN, set()).add(dest)


def flags_given(namespace: argparse.Namespace) -> set[str]:
    """Dests of the flags typed on the command line (not left at their defaults)."""
    return set(getattr(namespace, _GIVEN, set()))


class _Given(argparse.Action):
    """Stores the value and records that the flag was given; logs `notice` for a legacy flag."""

    def __init__(self, *args: Any, notice: str | None = None, **kwargs: Any) -> None:
        self.notice = notice
        super().__init__(*args, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        if self.notice:
            logger.warning("%s (legacy option): %s", option_string, self.notice)
        setattr(namespace, self.dest, self.const if self.nargs == 0 else values)
        _record(namespace, self.dest)


class _GivenSwitch(_Given):
    """A store-true switch that records being given."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.setdefault("default", False)
        super().__init__(option_strings, dest, nargs=0, const=True, **kwargs)


class _Removed(argparse.Action):
    """A flag that no longer does anything: accepted, with a warning (ML-Agents' RaiseRemovedWarning)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        logger.warning("The command line argument %s was removed and is ignored.", option_string)


def build_parser(prog: str = "mlagents-learn") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("trainer_config_path", nargs="?", default=None, help="Trainer configuration YAML file.")
    _add_run_flags(parser)
    _add_env_flags(parser)
    _add_engine_flags(parser.add_argument_group(title="Engine Configuration"))
    torch = parser.add_argument_group(title="Torch Configuration")
    torch.add_argument(
        "--torch-device",
        default=None,
        dest="device",
        action=_Given,
        help='Torch device, e.g. "cpu", "cuda", "cuda:0" (default: cuda when available, else cpu).',
    )
    _add_legacy_flags(parser.add_argument_group(title="Legacy options (older ML-Agents releases)"))
    return parser


def _add_run_flags(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--resume", dest="resume", action=_GivenSwitch, help="Resume training of the run given by --run-id.")
    add("--deterministic", action=_GivenSwitch, help="Act with the distribution's mean/argmax instead of sampling.")
    add("--force", action=_GivenSwitch, help="Overwrite an existing run with the same --run-id.")
    add("--run-id", default=DEFAULT_RUN_ID, action=_Given, help="Name of the run; results go to results-dir/run-id.")
    add(
        "--initialize-from",
        metavar="RUN_ID",
        default=None,
        action=_Given,
        help="Start from the model of a previous run (by its run id).",
    )
    add("--seed", default=-1, type=int, action=_Given, help="Random seed; -1 draws one.")
    add("--inference", action=_GivenSwitch, help="Run the model without training (use with --resume).")
    add("--debug", action=_GivenSwitch, help="Log at debug level.")
    add("--results-dir", default=DEFAULT_RESULTS_DIR, action=_Given, help="Folder for the results of all runs.")
    add("--torch", nargs=0, default=argparse.SUPPRESS, action=_Removed, help="(Removed) Use the PyTorch trainer.")
    add("--tensorflow", nargs=0, default=argparse.SUPPRESS, action=_Removed, help="(Removed) Use TensorFlow.")


def _add_env_flags(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--env", default=None, dest="env_path", action=_Given, help="The environment to train in.")
    add("--base-port", default=DEFAULT_BASE_PORT, type=int, action=_Given, help="First port of the environments.")
    add("--num-envs", default=1, type=int, action=_Given, help="Number of environment instances run concurrently.")
    add("--num-areas", default=1, type=int, action=_Given, help="Number of training areas in each instance.")
    add(
        "--env-args",
        default=None,
        nargs=argparse.REMAINDER,
        action=_Given,
        help="All arguments after this one are passed to the environment executable.",
    )
    add(
        "--max-lifetime-restarts",
        default=10,
        type=int,
        action=_Given,
        help="Restarts allowed per crashed env (-1: any).",
    )
    add("--restarts-rate-limit-n", default=1, type=int, action=_Given, help="Restarts allowed per period (-1: any).")
    add(
        "--restarts-rate-limit-period-s",
        default=60,
        type=int,
        action=_Given,
        help="The period of that limit (seconds).",
    )
    add("--timeout-wait", default=60, type=int, action=_Given, help="Seconds to wait for an environment to respond.")


def _add_engine_flags(group: argparse._ArgumentGroup) -> None:
    add = group.add_argument
    add("--width", default=84, type=int, action=_Given, help="Width of the environment window.")
    add("--height", default=84, type=int, action=_Given, help="Height of the environment window.")
    add("--quality-level", default=5, type=int, action=_Given, help="Graphics quality level.")
    add("--time-scale", default=20.0, type=float, action=_Given, help="Simulation speed-up.")
    add("--target-frame-rate", default=-1, type=int, action=_Given, help="Target frame rate (-1: unlimited).")
    add("--capture-frame-rate", default=60, type=int, action=_Given, help="Capture frame rate.")
    add("--no-graphics", action=_GivenSwitch, help="Run the environments without graphics.")
    add("--no-graphics-monitor", action=_GivenSwitch, help="Graphics for environment 0 only.")


def _add_legacy_flags(group: argparse._ArgumentGroup) -> None:
    def add(*names: str, notice: str, **kwargs: Any) -> None:
        group.add_argument(*names, notice=notice, help=f"(Legacy) {notice[0].upper()}{notice[1:]}", **kwargs)

    add("--load", dest="load_model", action=_GivenSwitch, notice="resumes the run, as --resume does.")
    add("--train", dest="train_model", action=_GivenSwitch, notice="is accepted: training is now the default.")
    curriculum = "curricula (a file, or a folder of per-behavior files) become environment_parameters."
    add("--curriculum", metavar="FILE|FOLDER", default=None, action=_Given, notice=curriculum)
    sampler = "parameter samplers from this file become environment_parameters."
    add("--sampler", metavar="FILE", default=None, action=_Given, notice=sampler)
    add("--lesson", default=None, type=int, action=_Given, notice="every curriculum starts at this lesson.")
    slow = "engine at 1280x720, quality 5, time scale 1, 60 fps (the old inference settings)."
    add("--slow", action=_GivenSwitch, notice=slow)
    add("--save-freq", default=None, type=int, action=_Given, notice="sets every behavior's checkpoint_interval.")
    add("--keep-checkpoints", default=None, type=int, action=_Given, notice="sets every behavior's keep_checkpoints.")
    add("--cpu", action=_GivenSwitch, notice="the same as --torch-device cpu.")
    for name, nargs, what in (
        ("--num-runs", 1, "Number of concurrent training sessions."),
        ("--docker-target-name", 1, "Docker volume name."),
        ("--multi-gpu", 0, "Multi-GPU training."),
    ):
        group.add_argument(name, nargs=nargs, default=argparse.SUPPRESS, action=_Removed, help=f"(Removed) {what}")


def parse_command_line(argv: Sequence[str] | None = None) -> RunOptions:
    """`mlagents-learn` arguments -> RunOptions. Bad flags exit with status 2 (argparse);
    a bad configuration raises ConfigError with a one-paragraph message."""
    parser = build_parser()
    return run_options_from_args(parser.parse_args(None if argv is None else list(argv)), parser)


def run_options_from_args(args: argparse.Namespace, parser: argparse.ArgumentParser | None = None) -> RunOptions:
    given = flags_given(args)
    values = vars(args)
    flag_names = _flag_names(parser or build_parser())
    path: str | None = values.get("trainer_config_path")
    config = read_config(path) if path else ConfigFile({})
    raw = copy.deepcopy(config.data)
    overrides = _Overrides(raw, given, flag_names)
    overrides.legacy_parameters(values.get("sampler"), values.get("curriculum"))
    for dest in sorted(given & set(SECTION_OF_DEST)):
        overrides.set(SECTION_OF_DEST[dest], dest, values[dest], dest)
    overrides.legacy_run_flags(values)
    per_behavior = overrides.per_behavior(values)
    options = run_options_from_dict(
        raw,
        path or "the command line",
        cli_keys=overrides.cli_keys,
        written_as=config.written_as,
        require_listed=bool(path),
    )
    if per_behavior:
        template = Structurer("the command line").trainer(per_behavior, "behaviors")
        options.behaviors.unlisted_template = template
    prioritize_resume_init(options.checkpoint_settings, given)
    unused = unity_only_settings(config.data, overrides.cli_keys)
    if unused and not trains_unity(options.env_settings.env_path, list(options.behaviors)):
        logger.warning(
            "%s: %s only to Unity builds and the Editor, and %s not used by this run's environments.",
            ", ".join(unused),
            "this applies" if len(unused) == 1 else "these apply",
            "is" if len(unused) == 1 else "are",
        )
    return options


def unity_only_settings(file_data: Mapping[str, Any], cli_keys: Mapping[str, str]) -> list[str]:
    """The Unity-only settings the user set: each flag given on the command line (--slow once for
    all it sets), and each key of the file's env_settings / engine_settings not at its default
    (a configuration.yaml written by a run lists every default; those are not the user's)."""
    defaults = {"env_settings": EnvironmentSettings(), "engine_settings": EngineSettings()}
    named: list[str] = []
    for section, key in UNITY_ONLY_SETTINGS:
        dotted = f"{section}.{key}"
        in_file = file_data.get(section)
        if dotted in cli_keys:
            name = cli_keys[dotted]
        elif isinstance(in_file, Mapping) and key in in_file and in_file[key] != getattr(defaults[section], key):
            name = dotted
        else:
            continue
        if name not in named:
            named.append(name)
    return named


def _flag_names(parser: argparse.ArgumentParser) -> dict[str, str]:
    return {action.dest: action.option_strings[0] for action in parser._actions if action.option_strings}


class _Overrides:
    """Writes command-line values into the raw configuration, remembering which keys they set."""

    def __init__(self, raw: dict[str, Any], given: set[str], flag_names: Mapping[str, str]) -> None:
        self.raw = raw
        self.given = given
        self.flag_names = flag_names
        self.cli_keys: dict[str, str] = {}

    def set(self, section: str | None, key: str, value: Any, dest: str) -> None:
        target = self.raw
        if section is not None:
            current = self.raw.get(section)
            if current is not None and not isinstance(current, Mapping):
                return  # the file's own value is wrong; the loader reports it
            target = self.raw[section] = dict(current or {})
        target[key] = value
        self.cli_keys[f"{section}.{key}" if section else key] = self.flag_names.get(dest, dest)

    def legacy_parameters(self, sampler: str | None, curriculum: str | None) -> None:
        parameters: dict[str, Any] = {}
        if sampler is not None:
            from_sampler = legacy.convert_samplers(legacy.read_sampler(sampler), sampler)
            self._blame(from_sampler, f"--sampler {sampler}")
            parameters.update(from_sampler)
        if curriculum is not None:
            from_curriculum = legacy.convert_curricula(legacy.read_curriculum(curriculum), curriculum, set(parameters))
            self._blame(from_curriculum, f"--curriculum {curriculum}")
            parameters.update(from_curriculum)
        if parameters:
            current = self.raw.get("environment_parameters")
            merged = dict(current) if isinstance(current, Mapping) else {}
            merged.update(parameters)  # the command line wins over the file
            self.raw["environment_parameters"] = merged

    def _blame(self, parameters: Mapping[str, Any], flag: str) -> None:
        """Errors in these environment parameters name the flag and file they came from."""
        for name in parameters:
            self.cli_keys[f"environment_parameters.{name}"] = flag

    def legacy_run_flags(self, values: Mapping[str, Any]) -> None:
        if "load_model" in self.given:
            self.set("checkpoint_settings", "resume", True, "load_model")
            self.given.add("resume")
        if "debug" in self.given:
            self.set(None, "debug", True, "debug")
        if "lesson" in self.given:
            self.set(None, "start_lesson", values["lesson"], "lesson")
        if "slow" in self.given:
            for key, value in SLOW_ENGINE_SETTINGS.items():
                if key not in self.given:
                    self.set("engine_settings", key, value, "slow")
        if "cpu" in self.given and "device" not in self.given:
            self.set("torch_settings", "device", "cpu", "cpu")

    def per_behavior(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Flags that apply to every behavior, written into each listed one and default_settings;
        returns them as trainer settings for behaviors that are not listed at all."""
        settings: dict[str, Any] = {}
        for dest, key in (("keep_checkpoints", "keep_checkpoints"), ("save_freq", "checkpoint_interval")):
            if dest in self.given:
                settings[key] = values[dest]
        if "deterministic" in self.given:
            settings["network_settings"] = {"deterministic": True}
        if not settings:
            return {}
        behaviors = self.raw.get("behaviors")
        if isinstance(behaviors, Mapping):
            self.raw["behaviors"] = {
                name: self._with(f"behaviors.{name}", entry, settings) for name, entry in behaviors.items()
            }
        if self.raw.get("default_settings") is not None:
            self.raw["default_settings"] = self._with("default_settings", self.raw["default_settings"], settings)
        return settings

    def _with(self, path: str, entry: Any, settings: Mapping[str, Any]) -> Any:
        if entry is not None and not isinstance(entry, Mapping):
            return entry  # not a mapping: the loader reports it
        merged = dict(entry or {})
        for key, value in settings.items():
            if key == "network_settings":
                network = merged.get(key)
                merged[key] = {**(network if isinstance(network, Mapping) else {}), **value}
                self.cli_keys[f"{path}.network_settings.deterministic"] = "--deterministic"
            else:
                merged[key] = value
                self.cli_keys[f"{path}.{key}"] = "--save-freq" if key == "checkpoint_interval" else "--keep-checkpoints"
        return merged


def prioritize_resume_init(checkpoint: CheckpointSettings, given: set[str]) -> None:
    """Resume and initialize-from exclude each other: the one typed on the command line wins;
    when both come from the YAML file, resume wins (ML-Agents' rule)."""
    if checkpoint.initialize_from is None or not checkpoint.resume:
        return
    if "initialize_from" in given and "resume" not in given:
        logger.warning(
            "Both resume and initialize_from=%s are set; %s is initialized from %s and resume is ignored.",
            checkpoint.initialize_from,
            checkpoint.run_id,
            checkpoint.initialize_from,
        )
        checkpoint.resume = False
    else:
        logger.warning(
            "Both resume and initialize_from=%s are set; the run is resumed and initialize_from is ignored.",
            checkpoint.initialize_from,
        )
        checkpoint.initialize_from = None
