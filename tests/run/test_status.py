from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import mlagents_fast
from mlagents_fast.run.errors import TrainerError
from mlagents_fast.run.status import STATUS_FORMAT_VERSION, ModelCheckpoint, StatusType, TrainingStatus

CHECKPOINT = ModelCheckpoint(
    steps=5000,
    file_path="results/run/3DBall/3DBall-5000.onnx",
    reward=np.float32(1.5),  # type: ignore[arg-type]  # numpy rewards must serialise
    creation_time=1700000000.25,
    auxillary_file_paths=["results/run/3DBall/3DBall-5000.pt"],
)


def test_round_trip_and_format(tmp_path: Path) -> None:
    path = tmp_path / "run_logs" / "training_status.json"
    status = TrainingStatus(path)
    status.set_checkpoints("3DBall", [CHECKPOINT])
    status.set_final_checkpoint("3DBall", CHECKPOINT)
    status.set_lesson_num("wall_height", 2)
    status.set_elo("Soccer", 1234.5)
    status.save()

    raw = json.loads(path.read_text())
    assert raw["metadata"] == {
        "stats_format_version": STATUS_FORMAT_VERSION,
        "mlagents_version": mlagents_fast.__version__,
        "torch_version": torch.__version__,
        "implementation": "mlagents-fast",
    }
    assert raw["3DBall"]["checkpoints"] == [
        {
            "steps": 5000,
            "file_path": "results/run/3DBall/3DBall-5000.onnx",
            "reward": 1.5,
            "creation_time": 1700000000.25,
            "auxillary_file_paths": ["results/run/3DBall/3DBall-5000.pt"],
        }
    ]
    assert raw["wall_height"] == {"lesson_num": 2}
    assert raw["Soccer"] == {"elo": 1234.5}
    assert path.read_text().startswith('{\n    "3DBall"')  # indent 4, as ML-Agents

    loaded = TrainingStatus.load(path)
    assert loaded.checkpoints("3DBall") == [ModelCheckpoint.from_dict(CHECKPOINT.to_dict())]
    assert loaded.final_checkpoint("3DBall") is not None
    assert loaded.lesson_num("wall_height") == 2
    assert loaded.elo("Soccer") == 1234.5
    assert loaded.get_parameter_state("nothing", StatusType.LESSON_NUM) is None


def test_reads_mlagents_files_and_warns_on_versions(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "training_status.json"
    path.write_text(
        json.dumps(
            {
                "3DBall": {"checkpoints": [{"steps": 10, "file_path": "a.onnx", "reward": None, "creation_time": 1.0}]},
                "metadata": {"stats_format_version": "0.3.0", "mlagents_version": "1.1.0", "torch_version": "2.1.1"},
            }
        )
    )
    status = TrainingStatus.load(path)
    assert status.checkpoints("3DBall")[0].auxillary_file_paths == []
    assert "Some things may not resume properly" in caplog.text
    assert "ml-agents 1.1.0" in caplog.text
    assert "Model may not resume properly" in caplog.text


def test_same_version_does_not_warn(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = TrainingStatus().save(tmp_path / "s.json")
    TrainingStatus.load(path)
    assert caplog.text == ""


def test_missing_metadata_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "training_status.json"
    path.write_text(json.dumps({"3DBall": {"checkpoints": []}}))
    with pytest.raises(TrainerError, match=r"Metadata not found in .*training_status\.json"):
        TrainingStatus.load(path)


def test_truncated_file_is_a_clear_error(tmp_path: Path) -> None:
    path = TrainingStatus().save(tmp_path / "training_status.json")
    path.write_text(path.read_text()[:20])
    with pytest.raises(TrainerError, match=r"training_status\.json is not valid JSON"):
        TrainingStatus.load(path)


def test_missing_file_only_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    status = TrainingStatus.load(tmp_path / "absent.json")
    assert status.checkpoints("3DBall") == []
    assert "not found" in caplog.text


def test_save_needs_a_path() -> None:
    with pytest.raises(ValueError, match="needs a path"):
        TrainingStatus().save()
