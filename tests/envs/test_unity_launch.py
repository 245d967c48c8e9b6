"""`mlagents-learn --env=<Unity build>` and `--env=editor` with stand-in players
(envs/testing/fake_unity.py behind an executable script, as a build is started): a PPO run through
the bridge gives the native run's summaries exactly, a player that dies is started again and
training goes on, Ctrl+C leaves no player or port behind, and the Editor is waited for on 5004."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from mlagents_fast.envs.registry import make
from mlagents_fast.envs.testing.fake_unity import FakeUnity
from mlagents_fast.envs.unity.connection import DEFAULT_EDITOR_PORT
from mlagents_fast.envs.unity.launch import LaunchedUnityEnv, UnityLaunch
from tests.test_learn import interrupt_after

CONFIG = """
behaviors:
  Basic:
    trainer_type: ppo
    hyperparameters: {batch_size: 32, buffer_size: 256, learning_rate: 3.0e-4}
    network_settings: {hidden_units: 32, num_layers: 1}
    reward_signals: {extrinsic: {gamma: 0.9}}
    time_horizon: 32
    max_steps: 3000
    summary_freq: 1000
"""


def player(tmp_path: Path, *options: str) -> Path:
    """An executable "Unity build": the stand-in player over Basic (unknown arguments ignored)."""
    script = tmp_path / "Basic.x86_64"
    script.write_text(f"#!/bin/sh\nexec {sys.executable} -m mlagents_fast.envs.testing.fake_unity --env Basic "
                      f"{' '.join(options)} \"$@\"\n")  # fmt: skip
    script.chmod(0o755)
    return script


def base_port() -> int:
    """A port whose next one is free too (the players listen on consecutive ports)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("localhost", 0))
            port = int(probe.getsockname()[1])
        with socket.socket() as probe:
            try:
                probe.bind(("localhost", port + 1))
                return port
            except OSError:
                continue
    raise AssertionError("no two free consecutive ports")


def learn(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "basic.yaml"
    config.write_text(CONFIG)
    return subprocess.run([sys.executable, "-m", "mlagents_fast", str(config), "--seed=3",
                           f"--results-dir={tmp_path / 'results'}", *args], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=600, cwd=tmp_path)  # fmt: skip


def summaries(output: str) -> list[str]:
    return [line.split("Time Elapsed")[0] + line.split("s. ", 1)[1] for line in output.splitlines()
            if "Mean Reward" in line]  # fmt: skip


def test_ppo_through_the_bridge_gives_the_native_runs_summaries(tmp_path: Path) -> None:
    """...and the game's own stats (its StatsRecorder, here the stand-in's step count every 100
    steps) reach TensorBoard beside the trainer's."""
    native = learn(tmp_path, "--env=Basic", "--run-id=native")
    bridged = learn(tmp_path, f"--env={player(tmp_path, '--stats-every', '100')}", "--run-id=bridge",
                    f"--base-port={base_port()}")  # fmt: skip
    assert native.returncode == 0 and bridged.returncode == 0, bridged.stdout
    assert len(summaries(native.stdout)) == 3
    assert summaries(bridged.stdout) == summaries(native.stdout)
    assert (tmp_path / "results" / "bridge" / "Basic.onnx").is_file()
    events = EventAccumulator(str(tmp_path / "results" / "bridge" / "Basic"))
    events.Reload()
    game = [(e.step, e.value) for e in events.Scalars("Fake/Steps")]
    assert [step for step, _ in game] == [1000, 2000, 3000]
    assert game[0][1] == pytest.approx(550.0)  # the mean of 100, 200, ... 1000


def test_a_player_that_dies_is_started_again_and_training_goes_on(tmp_path: Path) -> None:
    marker = tmp_path / "crashed-once"
    script = tmp_path / "Basic.x86_64"
    script.write_text(  # the first start dies after 500 steps; the restarted one plays on
        f"#!/bin/sh\nif [ ! -e {marker} ]; then touch {marker}; set -- --crash-after 500 \"$@\"; fi\n"
        f"exec {sys.executable} -m mlagents_fast.envs.testing.fake_unity --env Basic \"$@\"\n"
    )  # fmt: skip
    script.chmod(0o755)
    result = learn(tmp_path, f"--env={script}", "--run-id=crash", f"--base-port={base_port()}")
    assert result.returncode == 0, result.stdout
    assert "Unity player 0 failed" in result.stdout and "starting it again" in result.stdout
    assert "Step: 3000." in result.stdout


def test_a_player_dying_past_the_restart_limit_stops_the_run_clearly(tmp_path: Path) -> None:
    result = learn(tmp_path, f"--env={player(tmp_path, '--crash-after', '200')}", "--run-id=limit",
                   f"--base-port={base_port()}", "--max-lifetime-restarts=1")  # fmt: skip
    assert result.returncode == 1
    assert "is not restarted" in result.stdout and "max_lifetime_restarts=1" in result.stdout
    assert "Traceback" not in result.stdout


def test_ctrl_c_closes_every_player_and_frees_their_ports(tmp_path: Path) -> None:
    config = tmp_path / "basic.yaml"
    config.write_text(CONFIG.replace("max_steps: 3000", "max_steps: 1000000"))
    port = base_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mlagents_fast", str(config), f"--env={player(tmp_path)}", "--num-envs=2",
         f"--base-port={port}", "--run-id=stop", f"--results-dir={tmp_path / 'results'}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        cwd=tmp_path,
    )  # fmt: skip
    output = interrupt_after(process, "Step: 2000.")
    assert process.returncode == 0, output
    players = subprocess.run(["pgrep", "-f", f"fake_unity --env Basic --mlagents-port {port}"],
                             capture_output=True, text=True)  # fmt: skip
    assert players.stdout == "", "a player outlived the run"
    for p in (port, port + 1):
        with socket.socket() as probe:
            probe.bind(("localhost", p))  # (raises if still taken)


@pytest.mark.xdist_group("editor_port")  # (one test at a time on port 5004)
def test_the_editor_is_waited_for_on_port_5004(capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeUnity(make("Basic", 1, seed=0), DEFAULT_EDITOR_PORT)
    thread = threading.Thread(target=fake.run, daemon=True)
    thread.start()
    env = LaunchedUnityEnv(UnityLaunch("editor", timeout_wait=30, seed=2))
    try:
        assert "Listening on port 5004. Start training by pressing the Play button in the Unity Editor." in (
            capsys.readouterr().out)  # fmt: skip
        for _ in range(20):
            env.step()
        assert fake.steps == 20 and fake.seed == 2
        assert fake.received and fake.received[0][0] == "engine"  # the engine settings reached it
    finally:
        env.quit()
        thread.join(10)
        fake.env.close()
