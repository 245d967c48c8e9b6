"""Configuration: ML-Agents' settings tree as typed dataclasses, its YAML formats and its command line.

`parse_command_line(argv)` is what `mlagents-learn` calls; `load_run_options(path)` reads a
configuration file on its own; `RunOptions.to_dict()` is the resolved `configuration.yaml`.
"""

from mlagents_fast.config.errors import ConfigError, SettingError
from mlagents_fast.config.loader import load_config_dict, load_run_options, run_options_from_dict
from mlagents_fast.config.settings import (
    CheckpointSettings,
    CompletionCriteriaSettings,
    EngineSettings,
    EnvironmentParameterSettings,
    EnvironmentSettings,
    Lesson,
    RunOptions,
    TorchSettings,
)
from mlagents_fast.config.trainer_settings import (
    BehavioralCloningSettings,
    BehaviorSettings,
    CuriositySettings,
    GAILSettings,
    MemorySettings,
    NetworkSettings,
    POCASettings,
    PPOSettings,
    RewardSignalSettings,
    RNDSettings,
    SACSettings,
    SelfPlaySettings,
    TrainerSettings,
)

__all__ = [
    "BehaviorSettings",
    "BehavioralCloningSettings",
    "CheckpointSettings",
    "CompletionCriteriaSettings",
    "ConfigError",
    "CuriositySettings",
    "EngineSettings",
    "EnvironmentParameterSettings",
    "EnvironmentSettings",
    "GAILSettings",
    "Lesson",
    "MemorySettings",
    "NetworkSettings",
    "POCASettings",
    "PPOSettings",
    "RNDSettings",
    "RewardSignalSettings",
    "RunOptions",
    "SACSettings",
    "SelfPlaySettings",
    "SettingError",
    "TorchSettings",
    "TrainerSettings",
    "load_config_dict",
    "load_run_options",
    "run_options_from_dict",
]
