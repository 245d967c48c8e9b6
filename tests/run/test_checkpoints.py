from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from typing import Any

import pytest
import torch

from mlagents_fast.run import _atomic
from mlagents_fast.run.checkpoints import CheckpointManager, load_checkpoint
from mlagents_fast.run.errors import CheckpointLoadError, UnityTrainerException
from mlagents_fast.run.status import StatusType, TrainingStatus


def make_state(step: int) -> dict[str, Any]:
    """Shaped like ML-Agents' checkpoints: module state dicts plus the global step."""
    return {
        "Policy": {"body.weight": torch.full((4, 3), float(step)), "body.bias": torch.zeros(4)},
        "global_step": {"step": torch.tensor(step)},
        "Optimizer:value_optimizer": {"state": {}, "param_groups": [{"lr": 3e-4, "params": [0, 1]}]},
    }


def fake_onnx(step: int):  # type: ignore[no-untyped-def]
    def export(path: Path) -> None:
        path.write_bytes(f"onnx-{step}".encode())

    return export


def manager(tmp_path: Path, keep: int = 5) -> CheckpointManager:
    status = TrainingStatus(tmp_path / "run_logs" / "training_status.json")
    return CheckpointManager("3DBall", tmp_path / "3DBall", status, keep_checkpoints=keep)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name)


def test_save_layout_and_status(tmp_path: Path) -> None:
    mgr = manager(tmp_path)
    record = mgr.save(1000, make_state(1000), reward=0.75, export_onnx=fake_onnx(1000))

    folder = tmp_path / "3DBall"
    assert sorted(p.name for p in folder.iterdir()) == ["3DBall-1000.onnx", "3DBall-1000.pt", "checkpoint.pt"]
    assert record.file_path == str(folder / "3DBall-1000.onnx")
    assert record.auxillary_file_paths == [str(folder / "3DBall-1000.pt")]
    assert record.reward == 0.75
    state = mgr.load_latest()
    assert torch.equal(state["Policy"]["body.weight"], torch.full((4, 3), 1000.0))
    assert int(state["global_step"]["step"]) == 1000
    assert state["Optimizer:value_optimizer"]["param_groups"][0]["lr"] == 3e-4
    saved = json.loads((tmp_path / "run_logs" / "training_status.json").read_text())
    assert saved["3DBall"]["checkpoints"][0]["steps"] == 1000


def test_without_exporter_the_pt_is_the_record(tmp_path: Path) -> None:
    record = manager(tmp_path).save(10, make_state(10))
    assert record.file_path.endswith("3DBall-10.pt") and record.auxillary_file_paths == []


def test_crash_in_rename_keeps_previous_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mgr = manager(tmp_path)
    mgr.save(1000, make_state(1000), export_onnx=fake_onnx(1000))

    calls = []

    def crash(src: str, dst: str) -> None:
        calls.append(dst)
        if str(dst).endswith("checkpoint.pt"):
            raise OSError("simulated crash while saving")
        os.rename(src, dst)

    monkeypatch.setattr(_atomic.os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        mgr.save(2000, make_state(2000), export_onnx=fake_onnx(2000))
    monkeypatch.undo()

    assert int(mgr.load_latest()["global_step"]["step"]) == 1000
    assert [c.steps for c in TrainingStatus.load(mgr.status.path).checkpoints("3DBall")] == [1000]  # type: ignore[arg-type]
    assert leftovers(tmp_path / "3DBall") == []


def test_crash_mid_write_keeps_previous_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mgr = manager(tmp_path)
    mgr.save(1000, make_state(1000))
    real_save = torch.save

    def half_written(obj: object, f: Any) -> None:
        real_save(obj, f)
        f.truncate(40)  # what a kill or a full disk leaves behind
        raise OSError("No space left on device")

    monkeypatch.setattr(torch, "save", half_written)
    with pytest.raises(OSError, match="No space left"):
        mgr.save(2000, make_state(2000))
    monkeypatch.undo()

    assert int(mgr.load_latest()["global_step"]["step"]) == 1000
    assert not (tmp_path / "3DBall" / "3DBall-2000.pt").exists()
    assert leftovers(tmp_path / "3DBall") == []


def test_failed_export_keeps_previous_checkpoint(tmp_path: Path) -> None:
    mgr = manager(tmp_path)
    mgr.save(1000, make_state(1000), export_onnx=fake_onnx(1000))

    def broken_export(path: Path) -> None:
        path.write_bytes(b"partial")
        raise RuntimeError("export failed")

    with pytest.raises(RuntimeError, match="export failed"):
        mgr.save(2000, make_state(2000), export_onnx=broken_export)
    assert int(mgr.load_latest()["global_step"]["step"]) == 1000
    assert not (tmp_path / "3DBall" / "3DBall-2000.onnx").exists()
    assert leftovers(tmp_path / "3DBall") == []


def test_keep_checkpoints_rotation(tmp_path: Path) -> None:
    mgr = manager(tmp_path, keep=2)
    for step in (100, 200, 300, 400):
        mgr.save(step, make_state(step), reward=step / 100, export_onnx=fake_onnx(step))

    assert [c.steps for c in mgr.checkpoints()] == [300, 400]
    names = sorted(p.name for p in (tmp_path / "3DBall").iterdir())
    assert names == ["3DBall-300.onnx", "3DBall-300.pt", "3DBall-400.onnx", "3DBall-400.pt", "checkpoint.pt"]
    assert [
        c.steps for c in TrainingStatus.load(tmp_path / "run_logs" / "training_status.json").checkpoints("3DBall")
    ] == [
        300,
        400,
    ]


def test_keep_zero_keeps_all_and_same_step_replaces(tmp_path: Path) -> None:
    mgr = manager(tmp_path, keep=0)
    for step in (100, 200, 200):
        mgr.save(step, make_state(step))
    assert [c.steps for c in mgr.checkpoints()] == [100, 200]
    assert (tmp_path / "3DBall" / "3DBall-200.pt").exists()


def test_rotation_never_deletes_outside_the_behavior_folder(tmp_path: Path) -> None:
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me")
    mgr = manager(tmp_path, keep=1)
    mgr.status.set_parameter_state(
        "3DBall",
        StatusType.CHECKPOINTS,
        [{"steps": 1, "file_path": str(outside), "reward": None, "creation_time": 0.0, "auxillary_file_paths": []}],
    )
    mgr.save(100, make_state(100))
    assert outside.read_text() == "keep me"


def test_final_copies_last_onnx(tmp_path: Path) -> None:
    mgr = manager(tmp_path)
    mgr.save(100, make_state(100), export_onnx=fake_onnx(100))
    mgr.save(200, make_state(200), reward=2.0, export_onnx=fake_onnx(200))
    final = mgr.final(200)

    assert (tmp_path / "3DBall.onnx").read_bytes() == b"onnx-200"
    assert final.file_path == str(tmp_path / "3DBall.onnx")
    assert final.auxillary_file_paths == [str(tmp_path / "3DBall" / "3DBall-200.pt")]
    status = TrainingStatus.load(tmp_path / "run_logs" / "training_status.json")
    assert status.final_checkpoint("3DBall") == final
    with pytest.raises(UnityTrainerException, match="No checkpoint of behavior 3DBall at step 300"):
        mgr.final(300)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_corrupt_checkpoint_is_one_clear_error(tmp_path: Path, damage: str) -> None:
    mgr = manager(tmp_path)
    mgr.save(100, make_state(100))
    path = mgr.latest_path
    data = path.read_bytes()
    path.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"not a checkpoint" * 8, "empty": b""}[damage])
    with pytest.raises(CheckpointLoadError, match=r"Checkpoint .*checkpoint\.pt is corrupt or truncated") as info:
        mgr.load_latest()
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_missing_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(CheckpointLoadError, match="does not exist"):
        load_checkpoint(tmp_path / "absent.pt")


class Payload:
    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, ("echo should never run",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_weights_only_refuses_arbitrary_objects(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"Policy": Payload()}, path)
    with pytest.raises(CheckpointLoadError, match="objects other than tensors"):
        load_checkpoint(path)
    with open(tmp_path / "legacy.pt", "wb") as f:
        pickle.dump({"Policy": Payload()}, f)
    with pytest.raises(CheckpointLoadError, match=r"legacy\.pt"):
        load_checkpoint(tmp_path / "legacy.pt")


def test_non_dict_checkpoint(tmp_path: Path) -> None:
    torch.save(torch.zeros(3), tmp_path / "t.pt")
    with pytest.raises(CheckpointLoadError, match="not a dictionary"):
        load_checkpoint(tmp_path / "t.pt")


CRASHING_SAVE = """
import os, sys
from pathlib import Path
import torch
from mlagents_fast.run import _atomic
from mlagents_fast.run.checkpoints import CheckpointManager
from mlagents_fast.run.status import TrainingStatus

root = Path(sys.argv[1])
mgr = CheckpointManager("3DBall", root / "3DBall", TrainingStatus(root / "training_status.json"))
mgr.save(1000, {"global_step": {"step": torch.tensor(1000)}})

real_replace = os.replace
def die_on_latest(src, dst):
    if str(dst).endswith("checkpoint.pt"):
        os._exit(9)  # killed: no exception handlers, no cleanup
    real_replace(src, dst)
_atomic.os.replace = die_on_latest
mgr.save(2000, {"global_step": {"step": torch.tensor(2000)}})
"""


def test_killed_process_leaves_a_resumable_run(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[2]), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.run([sys.executable, "-c", CRASHING_SAVE, str(tmp_path)], env=env, timeout=120)
    assert proc.returncode == 9

    folder = tmp_path / "3DBall"
    assert [p.name for p in folder.glob(".*.partial*")]  # the kill left a partial file behind
    status = TrainingStatus.load(tmp_path / "training_status.json")
    mgr = CheckpointManager("3DBall", folder, status)
    assert int(mgr.load_latest()["global_step"]["step"]) == 1000
    assert [c.steps for c in mgr.checkpoints()] == [1000]
    mgr.save(1500, {"global_step": {"step": torch.tensor(1500)}})  # the resumed run cleans up
    assert not list(folder.glob(".*.partial*"))
