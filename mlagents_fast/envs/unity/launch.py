"""Starting Unity players (`--env PATH`) or waiting for the Editor (`--env=editor`), as mlagents-learn does.

A build is started once per `--num-envs`, player k on port `--base-port + k` with
`--mlagents-port`, `-logFile <run folder>/run_logs/Player-k.log`, `-nographics -batchmode` for
`--no-graphics` and the `--env-args` after them. The Editor is waited for on port 5004. Each
player's side channels carry the engine settings (`--width`, `--height`, `--quality-level`,
`--time-scale`, `--target-frame-rate`, `--capture-frame-rate`) before its first reset. A player
that dies is started again within ML-Agents' restart limits (UnityVectorEnv asks for it).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from mlagents_fast.config.settings import EngineSettings
from mlagents_fast.envs.python.restarts import RestartLimits
from mlagents_fast.envs.unity.connection import DEFAULT_EDITOR_PORT, UnityCommunicationError, UnityConnection
from mlagents_fast.envs.unity.vector import UnityProcessChannels, UnityVectorEnv

logger = logging.getLogger(__name__)
EDITOR = "editor"  # (as envs/selection.py names it)


@dataclass(frozen=True)
class UnityLaunch:
    """How to reach the run's Unity processes (`env_path` None or "editor": the Editor)."""

    env_path: str | None
    num_envs: int = 1
    base_port: int = 5005
    seed: int = 0
    num_areas: int = 1
    timeout_wait: float = 60.0
    no_graphics: bool = False
    env_args: tuple[str, ...] = ()
    log_folder: Path | None = None
    engine: EngineSettings = field(default_factory=EngineSettings)  # (the CLI's engine flags)
    max_lifetime_restarts: int = 10
    restarts_rate_limit_n: int = 1
    restarts_rate_limit_period_s: float = 60.0

    @property
    def editor(self) -> bool:
        return self.env_path is None or self.env_path == EDITOR


def executable_of(env_path: str) -> Path:
    """The player binary of a build as users name it: the file itself, or without its extension
    (`.x86_64`, `.x86`, `.exe`), or a macOS `.app` bundle."""
    path = Path(env_path).expanduser()
    candidates = [path, *(path.with_name(path.name + suffix) for suffix in (".x86_64", ".x86", ".exe"))]
    bundle = path if path.suffix == ".app" else path.with_name(path.name + ".app")
    macos = bundle / "Contents" / "MacOS"
    if macos.is_dir():
        candidates += sorted(macos.iterdir())
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate.resolve()  # (absolute: a bare name would be looked up on the PATH)
    raise UnityCommunicationError(
        f"--env {env_path!r}: no Unity player was found there (looked for {', '.join(str(c) for c in candidates[:4])}"
        f"{' and the .app bundle' if macos.is_dir() else ''}). Give the path of a Unity build made for this "
        "system, executable, or --env=editor to train in the Editor."
    )


class UnityPlayers:
    """The run's Unity processes: start, restart and stop them, and their connections."""

    def __init__(self, launch: UnityLaunch) -> None:
        self.launch = launch
        self.executable = None if launch.editor else executable_of(str(launch.env_path))
        self.processes: list[subprocess.Popen[bytes] | None] = [None] * launch.num_envs
        self.created: Path | None = None  # the outermost folder made for the logs
        self.limits = RestartLimits(launch.num_envs, launch.max_lifetime_restarts, launch.restarts_rate_limit_n,
                                    launch.restarts_rate_limit_period_s)  # fmt: skip

    def port(self, index: int) -> int:
        return DEFAULT_EDITOR_PORT if self.launch.editor else self.launch.base_port + index

    def start(self, index: int) -> UnityConnection:
        """Listen for player `index` (and start it, for a build); the handshake is the caller's."""
        launch = self.launch
        connection = UnityConnection(self.port(index), launch.timeout_wait, alive=lambda: self._check_alive(index))
        if self.executable is None:
            print(f"Listening on port {self.port(index)}. Start training by pressing the Play button in the Unity "
                  "Editor.", flush=True)  # fmt: skip
            return connection
        command = [str(self.executable), "--mlagents-port", str(self.port(index))]
        if launch.no_graphics:
            command += ["-nographics", "-batchmode"]
        command += list(launch.env_args)
        if launch.log_folder is not None:
            self._make_log_folder(launch.log_folder)
            command += ["-logFile", str(launch.log_folder / f"Player-{index}.log")]
        try:
            self.processes[index] = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                                     start_new_session=sys.platform != "win32")  # fmt: skip
        except OSError as error:
            connection.close()
            raise UnityCommunicationError(f"--env {launch.env_path!r}: the player could not start ({error}).") from None
        return connection

    def _make_log_folder(self, folder: Path) -> None:
        missing = [p for p in (folder, *folder.parents) if not p.exists()]
        folder.mkdir(parents=True, exist_ok=True)
        if missing and not self.created:
            self.created = missing[-1]  # the outermost folder made here

    def forget_logs(self) -> None:
        """The run could not start: remove the folders made for the players' logs, so that nothing of
        the run is left (a later run with the same id needs no --force)."""
        if self.created is not None:
            shutil.rmtree(self.created, ignore_errors=True)
            self.created = None

    def restart(self, index: int, reason: str) -> UnityConnection:
        """Start player `index` again after it died or hung, within ML-Agents' restart limits."""
        if self.executable is None:
            raise UnityCommunicationError(f"The Unity Editor stopped answering ({reason}); press Play again and "
                                          "resume the run with --resume.")  # fmt: skip
        limit = self.limits.reached(index)
        if limit is not None:
            raise UnityCommunicationError(f"Unity player {index} failed ({reason}) and is not restarted: {limit}.")
        self.limits.record(index)
        logger.warning(f"Unity player {index} failed ({reason}); starting it again (restart "
                       f"{self.limits.total}).")  # fmt: skip
        self.stop(index)
        return self.start(index)

    def _check_alive(self, index: int) -> None:
        process = self.processes[index]
        if process is not None and process.poll() is not None:
            raise UnityCommunicationError(f"the Unity player on port {self.port(index)} exited with code "
                                          f"{process.returncode}")  # fmt: skip

    def stop(self, index: int) -> None:
        process, self.processes[index] = self.processes[index], None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop_all(self) -> None:
        for index in range(len(self.processes)):
            self.stop(index)


class LaunchedUnityEnv(UnityVectorEnv):
    """UnityVectorEnv over the players it started: it restarts them, and stops them when closed."""

    def __init__(self, launch: UnityLaunch) -> None:
        self.players = UnityPlayers(launch)
        self.launch = launch
        channels = [UnityProcessChannels() for _ in range(launch.num_envs)]
        for process_channels in channels:
            self._configure_engine(process_channels)
        connections = []
        try:
            connections = [self.players.start(k) for k in range(launch.num_envs)]
            name = EDITOR if launch.editor else str(launch.env_path)
            super().__init__(connections, seed=launch.seed, num_areas=launch.num_areas, channels=channels, name=name,
                             restart=self._restart)  # fmt: skip
        except BaseException:
            for connection in connections:
                connection.close()
            self.players.stop_all()
            self.players.forget_logs()
            raise

    def _configure_engine(self, channels: UnityProcessChannels) -> None:
        engine = self.launch.engine
        channels.engine.set_configuration_parameters(engine.width, engine.height, engine.quality_level,
                                                     engine.time_scale, engine.target_frame_rate,
                                                     engine.capture_frame_rate)  # fmt: skip

    def _restart(self, index: int, reason: str) -> UnityConnection:
        self._configure_engine(self.channels[index])  # (a new player hears the engine settings again)
        return self.players.restart(index, reason)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.players.stop_all()
