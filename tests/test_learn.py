"""mlagents-learn end to end: the results folder, TensorBoard stats, resume, force, inference,
initialize-from, Ctrl+C, and one-paragraph errors with a non-zero exit."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import onnxruntime as ort
import pytest
import torch
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from mlagents_fast.config.cli import parse_command_line
from mlagents_fast.envs.selection import EnvironmentSetupError
from mlagents_fast.learn import main, starting_parameters
from mlagents_fast.run.checkpoints import load_checkpoint
from mlagents_fast.run.status import TrainingStatus

CONFIG = """
behaviors:
  Basic:
    trainer_type: ppo
    hyperparameters: {{batch_size: 32, buffer_size: 64, learning_rate: 3.0e-4}}
    network_settings: {{hidden_units: 16, num_layers: 1}}
    reward_signals: {{extrinsic: {{gamma: 0.9}}}}
    time_horizon: 3
    max_steps: {max_steps}
    summary_freq: 200
    checkpoint_interval: 200
    keep_checkpoints: 2
"""


def config(tmp_path: Path, max_steps: int = 600) -> str:
    path = tmp_path / f"basic_{max_steps}.yaml"
    path.write_text(CONFIG.format(max_steps=max_steps))
    return str(path)


def learn(tmp_path: Path, *args: str) -> int:
    return main([*args, f"--results-dir={tmp_path / 'results'}", "--seed=1"])


def scalars(run: Path, tag: str) -> list[tuple[int, float]]:
    events = EventAccumulator(str(run / "Basic"))
    events.Reload()
    return [(e.step, e.value) for e in events.Scalars(tag)]


def test_training_writes_ml_agents_results_folder(tmp_path: Path) -> None:
    assert learn(tmp_path, config(tmp_path), "--run-id=first") == 0
    run = tmp_path / "results" / "first"
    assert (run / "configuration.yaml").is_file() and (run / "run_logs" / "timers.json").is_file()
    assert (run / "Basic.onnx").is_file() and (run / "Basic" / "checkpoint.pt").is_file()
    kept = sorted(p.name for p in (run / "Basic").glob("Basic-*"))
    assert kept == ["Basic-400.onnx", "Basic-400.pt", "Basic-600.onnx", "Basic-600.pt"]  # keep_checkpoints: 2
    status = json.loads((run / "run_logs" / "training_status.json").read_text())
    assert status["Basic"]["final_checkpoint"]["steps"] == 600
    timers = json.loads((run / "run_logs" / "timers.json").read_text())
    learning = timers["children"]["TrainerController.start_learning"]["children"]
    assert learning["TrainerController.advance"]["count"] == 600  # one per step of the single agent
    assert {"mlagents_version", "pytorch_version", "numpy_version"} <= set(timers["metadata"])
    tags = EventAccumulator(str(run / "Basic"))
    tags.Reload()
    for tag in ("Environment/Cumulative Reward", "Environment/Episode Length", "Policy/Entropy",
                "Policy/Learning Rate", "Policy/Epsilon", "Policy/Beta", "Policy/Extrinsic Value Estimate",
                "Policy/Extrinsic Reward",
                "Losses/Policy Loss", "Losses/Value Loss"):  # fmt: skip
        assert tag in tags.Tags()["scalars"], tag
    assert [step for step, _ in scalars(run, "Policy/Learning Rate")] == [200, 400, 600]


def test_existing_run_id_needs_resume_or_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert learn(tmp_path, config(tmp_path, 200), "--run-id=again") == 0
    before = (tmp_path / "results" / "again" / "Basic" / "checkpoint.pt").read_bytes()
    assert learn(tmp_path, config(tmp_path, 200), "--run-id=again") == 1
    assert "Previous data from this run ID was found" in capsys.readouterr().err
    assert (tmp_path / "results" / "again" / "Basic" / "checkpoint.pt").read_bytes() == before  # nothing lost
    assert learn(tmp_path, config(tmp_path, 200), "--run-id=again", "--force") == 0


def test_resume_continues_the_run(tmp_path: Path) -> None:
    assert learn(tmp_path, config(tmp_path, 400), "--run-id=cont") == 0
    assert learn(tmp_path, config(tmp_path, 800), "--run-id=cont", "--resume") == 0
    run = tmp_path / "results" / "cont"
    assert load_checkpoint(run / "Basic" / "checkpoint.pt")["global_step"] == 800
    # The resumed curve continues the original one: 200..400 from the first run, 600..800 after.
    assert [step for step, _ in scalars(run, "Policy/Learning Rate")] == [200, 400, 600, 800]


def test_resume_with_nothing_to_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert learn(tmp_path, config(tmp_path), "--run-id=none", "--resume") == 1
    assert "Previous data from this run ID was not found" in capsys.readouterr().err


def test_initialize_from_and_inference(tmp_path: Path) -> None:
    assert learn(tmp_path, config(tmp_path, 200), "--run-id=source") == 0
    assert learn(tmp_path, config(tmp_path, 200), "--run-id=derived", "--initialize-from=source") == 0
    derived = load_checkpoint(tmp_path / "results" / "derived" / "Basic" / "checkpoint.pt")
    assert derived["global_step"] == 200  # counted from zero, not from the source's 200


SAFETY_NET_S = 120  # a run that hangs is killed after this long; never a pace the run must keep


def interrupt_after(process: subprocess.Popen[str], text: str) -> str:
    """Ctrl+C for `process` once it prints a line holding `text` (the training loop runs then, and
    takes Ctrl+C even where SIGINT was ignored at start); returns all it printed."""
    assert process.stdout is not None
    watchdog = threading.Timer(SAFETY_NET_S, process.kill)  # ends the reads below if the run hangs
    watchdog.start()
    try:
        lines = []
        for line in process.stdout:
            lines.append(line)
            if text in line:
                process.send_signal(signal.SIGINT)
                break
        return "".join(lines) + process.communicate()[0]
    finally:
        watchdog.cancel()
        process.kill()


def test_inference_runs_the_policy_until_interrupted(tmp_path: Path) -> None:
    """--inference ignores max_steps (it runs until Ctrl+C, as ML-Agents) and saves nothing."""
    yaml = CONFIG.format(max_steps=200).replace("hidden_units: 16", "hidden_units: 16, normalize: true")
    (tmp_path / "norm.yaml").write_text(yaml)
    assert learn(tmp_path, str(tmp_path / "norm.yaml"), "--run-id=source") == 0
    process = subprocess.Popen(
        [sys.executable, "-m", "mlagents_fast", str(tmp_path / "norm.yaml"), "--run-id=play", "--inference",
         "--initialize-from=source", "--seed=1", f"--results-dir={tmp_path / 'results'}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    output = interrupt_after(process, "Step: 600.")  # summaries go on past max_steps (200)
    assert process.returncode == 0 and "Step: 600." in output, output
    assert "Not Training" in output
    assert not list((tmp_path / "results" / "play").glob("Basic/*.pt"))  # inference saves no checkpoint


def test_corrupt_checkpoint_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert learn(tmp_path, config(tmp_path, 200), "--run-id=broken") == 0
    (tmp_path / "results" / "broken" / "Basic" / "checkpoint.pt").write_bytes(b"not a checkpoint")
    assert learn(tmp_path, config(tmp_path, 400), "--run-id=broken", "--resume") == 1
    error = capsys.readouterr().err
    assert "checkpoint.pt" in error and "Traceback" not in error


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--env=NoSuchEnv"], "is not a built-in environment"),
        (["--env=./Builds/3DBall.x86_64"], "no Unity player was found there"),
        (["--env=no_such_module:factory"], "could not load 'factory'"),
        (["--env=gym:NoSuchEnvironment-v0"], "gymnasium could not make 'NoSuchEnvironment-v0'"),
        (["--env=C:\\Games\\3DBall.exe"], "no Unity player was found there"),
        (["--torch-device=bogus"], "is not a torch device"),
        (["--torch-device=meta"], "a meta device cannot train"),
        (["--env=gym:FrozenLake-v1"], "observation space Discrete(16) is not supported"),
    ],
)
def test_bad_environment_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert learn(tmp_path, config(tmp_path), "--run-id=bad", *args) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "results" / "bad").exists()  # nothing made for a run that could not start


@pytest.mark.xdist_group("editor_port")  # (one test at a time on port 5004)
def test_behavior_without_environment_and_bad_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(CONFIG.format(max_steps=100).replace("Basic:", "Walker:"))
    # No behavior names a built-in environment: the Editor is waited for, as mlagents-learn does.
    assert learn(tmp_path, str(other), "--run-id=x", "--timeout-wait=1") == 1
    out, err = capsys.readouterr()
    assert "Start training by pressing the Play button in the Unity Editor" in out
    assert "took too long to respond" in err and "Traceback" not in err
    broken = tmp_path / "broken.yaml"
    broken.write_text("behaviors:\n  Basic: [unclosed\n")
    assert learn(tmp_path, str(broken), "--run-id=y") == 1
    assert "broken.yaml" in capsys.readouterr().err


@pytest.mark.parametrize("below", ["", "sub"])
def test_results_dir_through_a_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], below: str
) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    results = a_file / below if below else a_file
    assert main([config(tmp_path), "--run-id=x", f"--results-dir={results}"]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"Error: --results-dir (checkpoint_settings.results_dir) {str(results)!r}: ")
    assert "is a file" in error and "expected a folder" in error
    assert "Traceback" not in error and error.count("\n") == 1  # one paragraph


def test_environment_flags_reach_the_environments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """--num-areas multiplies the copies; the restart and timeout flags go to the process stepper;
    the Unity-only flags are named in one notice."""
    import mlagents_fast.learn as learn_module

    seen: dict[str, Any] = {}

    def capture(*args: Any, **kwargs: Any) -> None:
        seen.update(kwargs, args=args)
        raise EnvironmentSetupError("stopped before any environment is made")

    monkeypatch.setattr(learn_module, "environments_for", capture)
    flags = ["--num-envs=2", "--num-areas=3", "--timeout-wait=7", "--max-lifetime-restarts=4",
             "--restarts-rate-limit-n=-1", "--restarts-rate-limit-period-s=30",
             "--width=100", "--no-graphics"]  # fmt: skip
    assert learn(tmp_path, config(tmp_path), "--run-id=flags", *flags) == 1
    assert seen["args"][2] == 2 and seen["num_areas"] == 3
    assert seen["process_options"] == {"timeout_s": 7.0, "max_lifetime_restarts": 4, "restarts_rate_limit_n": -1,
                                       "restarts_rate_limit_period_s": 30.0}  # fmt: skip
    notices = [r.getMessage() for r in caplog.records if "only to Unity builds" in r.getMessage()]
    assert notices == ["--width, --no-graphics: these apply only to Unity builds and the Editor, and are not used "
                       "by this run's environments."]  # fmt: skip


def test_restart_flags_without_worker_processes_get_one_notice(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Built-in native environments have no worker processes to restart or wait for."""
    flags = ["--timeout-wait=7", "--max-lifetime-restarts=4"]
    assert learn(tmp_path, config(tmp_path, 100), "--run-id=restarts", *flags) == 0
    notices = [r.getMessage() for r in caplog.records if "worker processes" in r.getMessage()]
    assert len(notices) == 1 and notices[0].startswith("--timeout-wait, --max-lifetime-restarts: these apply only")
    caplog.clear()
    assert learn(tmp_path, config(tmp_path, 100), "--run-id=quiet") == 0
    assert not [r for r in caplog.records if "worker processes" in r.getMessage()]


def test_num_areas_trains_on_more_agents(tmp_path: Path) -> None:
    assert learn(tmp_path, config(tmp_path, 200), "--run-id=areas", "--num-areas=2") == 0
    timers = json.loads((tmp_path / "results" / "areas" / "run_logs" / "timers.json").read_text())
    learning = timers["children"]["TrainerController.start_learning"]["children"]
    assert learning["TrainerController.advance"]["count"] == 100  # two agents (areas) step at once


HEAVY_MODULES = ("torch", "numba", "onnx", "tensorboard")
MODULES_AFTER_MAIN = f"""
import sys
from mlagents_fast.learn import main
try:
    code = main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print("EXIT", code, "HEAVY", sorted(set({HEAVY_MODULES!r}) & set(sys.modules)))
"""


@pytest.mark.parametrize("case", ["-h", "--help", "bad key", "bad yaml", "bad flag value", "results dir a file"])
def test_help_and_configuration_errors_import_no_torch(tmp_path: Path, case: str) -> None:
    """--help and a run stopped by a configuration error answer without torch, numba, onnx or
    TensorBoard: importing them alone takes about a second."""
    bad_key, bad_yaml, a_file = tmp_path / "bad_key.yaml", tmp_path / "bad.yaml", tmp_path / "a_file"
    bad_key.write_text(CONFIG.format(max_steps=10).replace("time_horizon:", "bogus_key: 1\n    time_horizon:"))
    bad_yaml.write_text("behaviors:\n  Basic: [unclosed\n")
    a_file.write_text("")
    args = {
        "-h": ["-h"],
        "--help": ["--help"],
        "bad key": [str(bad_key)],
        "bad yaml": [str(bad_yaml)],
        "bad flag value": [config(tmp_path), "--num-envs=0"],
        "results dir a file": [config(tmp_path), f"--results-dir={a_file}"],
    }[case]
    result = subprocess.run(
        [sys.executable, "-c", MODULES_AFTER_MAIN, *args], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    expected_exit = 0 if case in ("-h", "--help") else 1
    assert result.stdout.splitlines()[-1] == f"EXIT {expected_exit} HEAVY []", (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr


def test_ctrl_c_saves_and_exits_cleanly(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "mlagents_fast", config(tmp_path, 10_000_000), "--run-id=stop",
         f"--results-dir={tmp_path / 'results'}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    run = tmp_path / "results" / "stop"
    output = interrupt_after(process, "Basic-200.onnx")  # the first checkpoint is being written
    assert process.returncode == 0, output
    assert "Learning was interrupted" in output
    status = json.loads((run / "run_logs" / "training_status.json").read_text())
    # At least the steps of the checkpoint we waited for (equal when the signal lands right after it).
    assert status["Basic"]["final_checkpoint"]["steps"] >= 200 and (run / "Basic.onnx").is_file()


class _InterruptingFile:
    """A checkpoint stream that sends this process Ctrl+C (`presses` times) inside torch.save's
    writes, where an interrupt used to tear the zip writer and end the run with a traceback."""

    def __init__(self, stream: Any, presses: int) -> None:
        self.stream, self.presses, self.writes = stream, presses, 0

    def write(self, data: Any) -> int:
        self.writes += 1
        if self.writes == 2:
            for _ in range(self.presses):
                os.kill(os.getpid(), signal.SIGINT)
        return int(self.stream.write(data))

    def flush(self) -> None:
        self.stream.flush()


@pytest.mark.parametrize("before", [signal.default_int_handler, signal.SIG_IGN], ids=["default", "ignored"])
@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_inside_a_checkpoint_write_still_saves_and_exits_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, presses: int, before: Any
) -> None:
    """The loop takes Ctrl+C even where SIGINT was ignored (a background job starts so, as `nohup`
    or `cmd &` in a script), and gives the caller back exactly the handler it had."""
    real_save = torch.save
    interrupted: list[bool] = []

    def save(payload: Any, stream: Any) -> None:
        if not interrupted:  # the first periodic checkpoint (step 200) is written while Ctrl+C comes
            interrupted.append(True)
            stream = _InterruptingFile(stream, presses)
        real_save(payload, stream)

    monkeypatch.setattr(torch, "save", save)
    caplog.set_level(logging.INFO)
    inherited = signal.signal(signal.SIGINT, before)  # whatever this test run started with, put back below
    try:
        assert learn(tmp_path, config(tmp_path, 10_000_000), "--run-id=torn") == 0
        after = signal.getsignal(signal.SIGINT)
    finally:
        signal.signal(signal.SIGINT, inherited)
    assert "Learning was interrupted" in caplog.text
    assert after is before  # restored for the caller as it was, not Python's default in its place
    run = tmp_path / "results" / "torn"
    status = json.loads((run / "run_logs" / "training_status.json").read_text())
    assert status["Basic"]["final_checkpoint"]["steps"] == 200  # the step the interrupted save was at
    assert load_checkpoint(run / "Basic" / "checkpoint.pt")["global_step"] == 200
    assert (run / "Basic.onnx").is_file() and not list((run / "Basic").glob(".*partial*"))


def test_a_second_ctrl_c_stops_the_step_at_once_and_still_saves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlagents_fast.trainers.ppo import PPOTrainer

    real_act = PPOTrainer.act
    stopped_at: list[int] = []

    def act(self: PPOTrainer, *args: Any) -> Any:
        if self.step >= 300 and not stopped_at:  # once, mid-run, inside a step
            stopped_at.append(self.step)
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)  # the second press raises here, before acting
            stopped_at.append(-1)  # not reached
        return real_act(self, *args)

    monkeypatch.setattr(PPOTrainer, "act", act)
    assert learn(tmp_path, config(tmp_path, 10_000_000), "--run-id=twice") == 0
    status = json.loads((tmp_path / "results" / "twice" / "run_logs" / "training_status.json").read_text())
    assert stopped_at == [status["Basic"]["final_checkpoint"]["steps"]]  # saved at the step it was stopped in


def test_ctrl_c_before_training_starts_is_one_line_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import mlagents_fast.learn as learn_module

    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(learn_module, "environments_for", interrupted)
    assert learn(tmp_path, config(tmp_path), "--run-id=early") == 130
    assert "Interrupted (Ctrl+C) outside the training loop" in capsys.readouterr().err


def test_each_run_writes_its_own_timers(tmp_path: Path) -> None:
    """Runs in one process (as here, or a notebook) do not add up their timers.json counts."""
    for run_id in ("one", "two"):
        assert learn(tmp_path, config(tmp_path, 200), f"--run-id={run_id}") == 0
        timers = json.loads((tmp_path / "results" / run_id / "run_logs" / "timers.json").read_text())
        learning = timers["children"]["TrainerController.start_learning"]["children"]
        assert learning["TrainerController.advance"]["count"] == 200, run_id  # one per step of the single agent


def test_summaries_fall_on_summary_freq_boundaries(tmp_path: Path) -> None:
    """Three copies of Basic take 3 agent-steps a step: the summaries are still written at 200,
    400 and 600 (ML-Agents labels a summary with the boundary it crossed)."""
    assert learn(tmp_path, config(tmp_path), "--run-id=three", "--num-envs=3") == 0
    assert [step for step, _ in scalars(tmp_path / "results" / "three", "Policy/Learning Rate")] == [200, 400, 600]


def test_results_are_readable_as_plain_writes_would_be(tmp_path: Path) -> None:
    assert learn(tmp_path, config(tmp_path, 200), "--run-id=modes") == 0
    mask = os.umask(0)
    os.umask(mask)
    run = tmp_path / "results" / "modes"
    for path in (run / "Basic.onnx", run / "configuration.yaml", run / "Basic" / "checkpoint.pt",
                 run / "Basic" / "Basic-200.onnx", run / "run_logs" / "training_status.json"):  # fmt: skip
        assert path.stat().st_mode & 0o777 == 0o666 & ~mask, path


def test_checkpoint_of_another_network_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert learn(tmp_path, config(tmp_path, 200), "--run-id=small") == 0
    checkpoint = tmp_path / "results" / "small" / "Basic" / "checkpoint.pt"
    before = checkpoint.read_bytes()
    wider = tmp_path / "wider.yaml"
    wider.write_text(CONFIG.format(max_steps=400).replace("hidden_units: 16", "hidden_units: 32"))
    assert learn(tmp_path, str(wider), "--run-id=small", "--resume") == 1
    error = capsys.readouterr().err
    assert "does not fit behavior Basic's network" in error and "Traceback" not in error
    assert checkpoint.read_bytes() == before  # nothing lost
    assert learn(tmp_path, str(wider), "--run-id=wide", "--initialize-from=small") == 1
    assert "does not fit" in capsys.readouterr().err
    assert not (tmp_path / "results" / "wide").exists()


def test_init_path_is_taken_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A behavior's init_path is a file path as written (relative to the working directory)."""
    monkeypatch.chdir(tmp_path)
    assert learn(tmp_path, config(tmp_path, 200), "--run-id=source") == 0
    init = tmp_path / "init.yaml"
    init.write_text(CONFIG.format(max_steps=200) + "    init_path: results/source/Basic/Basic-200.pt\n")
    assert learn(tmp_path, str(init), "--run-id=derived") == 0
    assert "Initializing from results/source/Basic/Basic-200.pt." in caplog.text


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("    behavioral_cloning: {demo_path: missing.demo}\n", "'missing.demo' does not exist"),
        ("    reward_signals: {extrinsic: {}, gail: {demo_path: missing.demo}}\n", "'missing.demo' does not exist"),
        ("    self_play: {save_steps: 100}\n", "`behaviors.Basic.self_play` needs agents of 'Basic' in teams"),
    ],
)
def test_settings_not_trained_yet_are_refused_not_ignored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: str, message: str
) -> None:
    path = tmp_path / "extra.yaml"
    path.write_text(CONFIG.format(max_steps=200).replace("    reward_signals: {extrinsic: {gamma: 0.9}}\n", "")
                    .replace("    time_horizon", extra + "    time_horizon"))  # fmt: skip
    assert learn(tmp_path, str(path), "--run-id=refused") == 1
    error = capsys.readouterr().err
    assert message in error and "Traceback" not in error
    assert not (tmp_path / "results" / "refused").exists()


MEMORY = "num_layers: 1, memory: {memory_size: 8, sequence_length: 3}"


def test_a_policy_with_memory_trains_exports_and_resumes(tmp_path: Path) -> None:
    path = tmp_path / "memory.yaml"
    path.write_text(CONFIG.format(max_steps=200).replace("num_layers: 1", MEMORY))
    assert learn(tmp_path, str(path), "--run-id=memory") == 0
    session = ort.InferenceSession(str(tmp_path / "results" / "memory" / "Basic.onnx"))
    assert [i.name for i in session.get_inputs()][-1] == "recurrent_in"
    assert [o.name for o in session.get_outputs()][-1] == "recurrent_out"
    path.write_text(CONFIG.format(max_steps=400).replace("num_layers: 1", MEMORY))
    assert learn(tmp_path, str(path), "--run-id=memory", "--resume") == 0
    assert (tmp_path / "results" / "memory" / "Basic" / "Basic-400.pt").exists()


def test_memory_on_a_feed_forward_checkpoint_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert learn(tmp_path, config(tmp_path, 200), "--run-id=plain") == 0
    path = tmp_path / "memory.yaml"
    path.write_text(CONFIG.format(max_steps=400).replace("num_layers: 1", MEMORY))
    assert learn(tmp_path, str(path), "--run-id=plain", "--resume") == 1
    error = capsys.readouterr().err
    assert "does not fit behavior Basic's network" in error and "memory" in error and "Traceback" not in error


def test_sac_with_memory_trains_and_exports(tmp_path: Path) -> None:
    path = tmp_path / "memory.yaml"
    sac = CONFIG.format(max_steps=200).replace("trainer_type: ppo", "trainer_type: sac")
    path.write_text(sac.replace("num_layers: 1", MEMORY).replace("buffer_size: 64", "buffer_size: 640"))
    assert learn(tmp_path, str(path), "--run-id=sac") == 0
    session = ort.InferenceSession(str(tmp_path / "results" / "sac" / "Basic.onnx"))
    assert [o.name for o in session.get_outputs()][-1] == "recurrent_out"


# (thresholds Basic's returns never reach: these lessons stay where they start)
CURRICULUM = """
environment_parameters:
  goal:
    curriculum:
      - {name: A, value: 1, completion_criteria: {measure: reward, behavior: Basic, threshold: 10.0}}
      - {name: B, value: 2, completion_criteria: {measure: reward, behavior: Basic, threshold: 10.0}}
      - {name: C, value: 3}
"""


@pytest.mark.filterwarnings("ignore:Environment 'Basic' does not read the parameter 'goal'")
@pytest.mark.parametrize(("lesson", "started"), [(None, 0), (1, 1), (2, 2)])
def test_lesson_flag_chooses_the_starting_lesson(tmp_path: Path, lesson: int | None, started: int) -> None:
    """--lesson (legacy) starts every curriculum at that lesson (past the last one it is an error,
    tests/run/test_curriculum.py); the lesson's value goes to the environment and lesson_num to
    training_status.json."""
    path = tmp_path / "curriculum.yaml"
    path.write_text(CONFIG.format(max_steps=200) + CURRICULUM)
    argv = [str(path), "--run-id=lessons", f"--results-dir={tmp_path / 'results'}"]
    options = parse_command_line(argv + ([] if lesson is None else [f"--lesson={lesson}"]))
    status = TrainingStatus(tmp_path / "status.json")
    assert starting_parameters(options, status)["goal"].intervals[0][0] == started + 1
    assert status.lesson_num("goal") == started
    assert learn(tmp_path, *argv[:2], *([] if lesson is None else [f"--lesson={lesson}"])) == 0
    saved = json.loads((tmp_path / "results" / "lessons" / "run_logs" / "training_status.json").read_text())
    assert saved["goal"]["lesson_num"] == started


# RunOptions' fields in ML-Agents 1.1 (mlagents/trainers/settings.py): its loader rejects any other top-level key.
ML_AGENTS_TOP_LEVEL_KEYS = ["default_settings", "behaviors", "env_settings", "engine_settings",
                            "environment_parameters", "checkpoint_settings", "torch_settings", "debug"]  # fmt: skip


@pytest.mark.filterwarnings("ignore:Environment 'Basic' does not read the parameter 'goal'")
def test_configuration_yaml_after_lesson_has_only_ml_agents_keys_and_resumes(tmp_path: Path) -> None:
    """--lesson is kept in training_status.json (lesson_num), never as a top-level key ML-Agents rejects;
    the written configuration.yaml resumes the run."""
    path = tmp_path / "curriculum.yaml"
    path.write_text(CONFIG.format(max_steps=200) + CURRICULUM)
    assert learn(tmp_path, str(path), "--run-id=lesson", "--lesson=1") == 0
    written = tmp_path / "results" / "lesson" / "configuration.yaml"
    configuration = yaml.safe_load(written.read_text())
    assert list(configuration) == ML_AGENTS_TOP_LEVEL_KEYS
    longer = tmp_path / "longer.yaml"
    configuration["behaviors"]["Basic"]["max_steps"] = 400
    longer.write_text(yaml.safe_dump(configuration, sort_keys=False))
    for config_file in (written, longer):  # the file as written, and edited to train on
        assert parse_command_line([str(config_file)]).checkpoint_settings.run_id == "lesson"
    assert main([str(longer), "--resume"]) == 0  # results dir and run id from the file
    status = json.loads((tmp_path / "results" / "lesson" / "run_logs" / "training_status.json").read_text())
    assert status["goal"]["lesson_num"] == 1 and status["Basic"]["final_checkpoint"]["steps"] == 400
    assert list(yaml.safe_load(written.read_text())) == ML_AGENTS_TOP_LEVEL_KEYS


def test_behaviors_without_a_built_in_environment_are_left_untrained(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No --env: each behavior named after a built-in environment trains on it; settings for any
    other behavior are unused (as ML-Agents leaves settings of behaviors no agent has)."""
    walker = CONFIG.format(max_steps=200).split("behaviors:\n", 1)[1].replace("Basic:", "Walker:")
    path = tmp_path / "two.yaml"
    path.write_text(CONFIG.format(max_steps=200) + walker)
    assert learn(tmp_path, str(path), "--run-id=mixed") == 0
    assert (tmp_path / "results" / "mixed" / "Basic.onnx").is_file()
    assert not (tmp_path / "results" / "mixed" / "Walker").exists()
    assert "No built-in environment is named 'Walker'" in caplog.text


def test_resume_with_another_number_of_environments(tmp_path: Path) -> None:
    assert learn(tmp_path, config(tmp_path, 200), "--run-id=envs") == 0
    assert learn(tmp_path, config(tmp_path, 400), "--run-id=envs", "--resume", "--num-envs=2") == 0
    assert load_checkpoint(tmp_path / "results" / "envs" / "Basic" / "checkpoint.pt")["global_step"] == 400


def test_malformed_training_status_is_refused_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert learn(tmp_path, config(tmp_path, 200), "--run-id=status") == 0
    run = tmp_path / "results" / "status"
    checkpoint = (run / "Basic" / "checkpoint.pt").read_bytes()
    status = json.loads((run / "run_logs" / "training_status.json").read_text())
    status["Basic"]["checkpoints"] = "x"
    (run / "run_logs" / "training_status.json").write_text(json.dumps(status))
    assert learn(tmp_path, config(tmp_path, 400), "--run-id=status", "--resume") == 1
    assert "Malformed checkpoint list" in capsys.readouterr().err
    assert (run / "Basic" / "checkpoint.pt").read_bytes() == checkpoint


TWO_BEHAVIORS = """
  3DBall:
    trainer_type: ppo
    hyperparameters: {{batch_size: 60, buffer_size: 120}}
    network_settings: {{hidden_units: 16, num_layers: 1, normalize: true}}
    max_steps: 240
    summary_freq: 120
"""


def test_a_finished_behavior_stays_frozen_when_the_run_resumes(tmp_path: Path) -> None:
    """Basic trains on after 3DBall reached max_steps; resumed, 3DBall only acts: its policy and
    normalizer are exactly as they were."""
    first, longer = tmp_path / "two.yaml", tmp_path / "two_longer.yaml"
    first.write_text(CONFIG.format(max_steps=400) + TWO_BEHAVIORS.format())
    longer.write_text(CONFIG.format(max_steps=600) + TWO_BEHAVIORS.format())
    assert learn(tmp_path, str(first), "--run-id=two") == 0
    ball = tmp_path / "results" / "two" / "3DBall" / "checkpoint.pt"
    before = load_checkpoint(ball)
    assert learn(tmp_path, str(longer), "--run-id=two", "--resume") == 0
    after = load_checkpoint(ball)
    assert after["global_step"] > before["global_step"]  # it acted on while Basic trained
    for part in ("Policy", "normalizer:obs_0"):
        for key, value in before[part].items():
            assert torch.equal(value, after[part][key]), (part, key)
