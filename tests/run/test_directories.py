from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlagents_fast.run.directories import (
    RunPaths,
    prepare_run_directory,
    setup_init_paths,
    validate_existing_directories,
    write_run_options,
)
from mlagents_fast.run.errors import UnityTrainerException


def make_previous_run(paths: RunPaths, behaviors: tuple[str, ...] = ("3DBall",)) -> None:
    for name in behaviors:
        paths.behavior_dir(name).mkdir(parents=True)
        (paths.behavior_dir(name) / "checkpoint.pt").write_bytes(b"x")


def test_layout(tmp_path: Path) -> None:
    paths = RunPaths.of(tmp_path / "results", "ppo")
    assert prepare_run_directory(paths) is None
    assert paths.run_logs_dir.is_dir()
    assert paths.training_status_path == tmp_path / "results/ppo/run_logs/training_status.json"
    assert paths.timers_path == tmp_path / "results/ppo/run_logs/timers.json"
    assert paths.configuration_path == tmp_path / "results/ppo/configuration.yaml"
    assert paths.final_model_path("3DBall") == tmp_path / "results/ppo/3DBall.onnx"


def test_existing_run_id_needs_resume_or_force(tmp_path: Path) -> None:
    paths = RunPaths.of(tmp_path, "ppo")
    make_previous_run(paths)
    with pytest.raises(UnityTrainerException, match=r"Previous data from this run ID was found\. Either specify a new"):
        prepare_run_directory(paths)
    prepare_run_directory(paths, force=True)
    prepare_run_directory(paths, resume=True)
    assert (paths.behavior_dir("3DBall") / "checkpoint.pt").exists()  # --force deletes nothing up front


def test_resume_needs_a_previous_run(tmp_path: Path) -> None:
    with pytest.raises(UnityTrainerException, match="Previous data from this run ID was not found"):
        prepare_run_directory(RunPaths.of(tmp_path, "new"), resume=True)
    empty = RunPaths.of(tmp_path, "empty")
    empty.run_logs_dir.mkdir(parents=True)
    with pytest.raises(UnityTrainerException, match="no checkpoint to resume from"):
        prepare_run_directory(empty, resume=True)


def test_initialize_from(tmp_path: Path) -> None:
    source = RunPaths.of(tmp_path, "pretrained")
    make_previous_run(source, ("3DBall",))
    target = RunPaths.of(tmp_path, "finetune")
    with pytest.raises(UnityTrainerException, match=r"Could not initialize from .*missing\. Make sure models"):
        prepare_run_directory(target, initialize_from="missing")
    init_dir = prepare_run_directory(target, initialize_from="pretrained")
    assert init_dir == source.run_dir

    resolved = setup_init_paths({"3DBall": None}, init_dir)
    assert resolved == {"3DBall": source.behavior_dir("3DBall") / "checkpoint.pt"}
    (source.behavior_dir("3DBall") / "3DBall-500.pt").write_bytes(b"x")
    assert setup_init_paths({"3DBall": "3DBall-500.pt"}, init_dir)["3DBall"].name == "3DBall-500.pt"
    with pytest.raises(UnityTrainerException, match=r"Could not initialize from .*Walker.*checkpoint\.pt"):
        setup_init_paths({"Walker": None}, init_dir)


def test_validate_direct(tmp_path: Path) -> None:
    validate_existing_directories(tmp_path / "absent", resume=False, force=False)
    with pytest.raises(UnityTrainerException, match="Could not initialize"):
        validate_existing_directories(tmp_path / "absent", False, False, init_path=tmp_path / "nope")


def test_configuration_yaml(tmp_path: Path) -> None:
    options = {
        "default_settings": None,
        "behaviors": {"3DBall": {"trainer_type": "ppo", "hyperparameters": {"batch_size": 64}}},
        "checkpoint_settings": {"run_id": "ppo", "resume": False},
    }
    path = write_run_options(tmp_path, options)
    text = path.read_text()
    assert text.index("default_settings") < text.index("behaviors") < text.index("checkpoint_settings")
    assert yaml.safe_load(text) == options
    with pytest.raises(yaml.representer.RepresenterError):
        write_run_options(tmp_path, {"bad": object()})
    assert yaml.safe_load(path.read_text()) == options  # the failed write left the old file whole


@pytest.mark.parametrize("below", ["", "sub", "sub/deeper"])
def test_results_dir_through_a_file_is_a_clear_error(tmp_path: Path, below: str) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    paths = RunPaths.of(a_file / below if below else a_file, "ppo")
    with pytest.raises(UnityTrainerException) as raised:
        prepare_run_directory(paths)
    message = str(raised.value)
    assert message.startswith(f"--results-dir (checkpoint_settings.results_dir) {str(paths.results_dir)!r}: ")
    assert f"{str(a_file)!r} is a file" in message and "expected a folder" in message and "\n" not in message
    with pytest.raises(UnityTrainerException, match="is a file"):  # resuming or forcing changes nothing
        validate_existing_directories(paths.run_dir, resume=True, force=True)
    assert a_file.read_text() == "not a folder"


def test_run_folder_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "ppo").write_text("")
    with pytest.raises(UnityTrainerException, match=r"^--run-id \(checkpoint_settings\.run_id\) 'ppo': .* is a file"):
        prepare_run_directory(RunPaths.of(tmp_path, "ppo"), force=True)


def test_unmakeable_run_folder_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "mkdir", refuse)
    with pytest.raises(UnityTrainerException, match=r"Could not make the run folder .*: Permission denied\. Give"):
        prepare_run_directory(RunPaths.of(tmp_path / "results", "ppo"))
