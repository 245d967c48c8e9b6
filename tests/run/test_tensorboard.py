from __future__ import annotations

from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from mlagents_fast.run.stats import StatsAggregationMethod, StatsPropertyType, StatsRegistry, StatsReporter
from mlagents_fast.run.tensorboard_writer import HIDDEN_KEYS, TensorboardWriter


def read_events(folder: Path) -> EventAccumulator:
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0, "tensors": 0})
    acc.Reload()
    return acc


def scalar_curve(acc: EventAccumulator, tag: str) -> list[tuple[int, float]]:
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def event_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("events.out.tfevents.*"))


def train(registry: StatsRegistry, writer: TensorboardWriter, steps: list[int]) -> None:
    """Report stats the way a trainer does: rewards per episode, losses per update, one summary per step."""
    if writer not in registry.writers:
        registry.add_writer(writer)
    rep = StatsReporter("3DBall", registry)
    for step in steps:
        for r in (1.0, 2.0, 3.0):
            rep.add_stat("Environment/Cumulative Reward", r * step / 1000, StatsAggregationMethod.HISTOGRAM)
        rep.add_stat("Environment/Episode Length", 10.0)
        rep.add_stat("Policy/Learning Rate", 3e-4)
        rep.add_stat("Losses/Value Loss", 0.5)
        rep.add_stat("Custom/Sum", 2.0, StatsAggregationMethod.SUM)
        rep.add_stat("Custom/Sum", 3.0, StatsAggregationMethod.SUM)
        rep.set_stat("Is Training", 1.0)
        rep.set_stat("Step", float(step))
        rep.write_stats(step)
    writer.close()
    registry.clear()


def test_scalars_histogram_and_text_read_back(tmp_path: Path, registry: StatsRegistry) -> None:
    writer = TensorboardWriter(tmp_path, clear_past_data=True, hidden_keys=list(HIDDEN_KEYS))
    registry.add_writer(writer)
    StatsReporter("3DBall", registry).add_property(StatsPropertyType.HYPERPARAMETERS, {"batch_size": 64})
    train(registry, writer, [1000, 2000])

    acc = read_events(tmp_path / "3DBall")
    tags = acc.Tags()
    assert sorted(tags["scalars"]) == [
        "Custom/Sum",
        "Environment/Cumulative Reward",
        "Environment/Episode Length",
        "Losses/Value Loss",
        "Policy/Learning Rate",
    ]
    assert tags["histograms"] == ["Environment/Cumulative Reward_hist"]
    assert scalar_curve(acc, "Environment/Cumulative Reward") == [
        (1000, pytest.approx(2.0)),
        (2000, pytest.approx(4.0)),
    ]
    assert scalar_curve(acc, "Custom/Sum") == [(1000, 5.0), (2000, 5.0)]
    assert scalar_curve(acc, "Policy/Learning Rate")[0][1] == pytest.approx(3e-4)
    hist = acc.Histograms("Environment/Cumulative Reward_hist")
    assert [h.step for h in hist] == [1000, 2000]
    assert hist[1].histogram_value.num == 3 and hist[1].histogram_value.sum == pytest.approx(12.0)
    text = acc.Tensors("Hyperparameters/text_summary")[0].tensor_proto.string_val[0].decode()
    assert "batch_size" in text and "64" in text


def test_fresh_run_deletes_old_events(
    tmp_path: Path, registry: StatsRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    train(registry, TensorboardWriter(tmp_path, clear_past_data=True), [1000, 2000, 3000])
    folder = tmp_path / "3DBall"
    (folder / "notes.txt").write_text("kept")
    train(registry, TensorboardWriter(tmp_path, clear_past_data=True), [500])

    assert len(event_files(folder)) == 1
    assert (folder / "notes.txt").exists()
    assert scalar_curve(read_events(folder), "Losses/Value Loss") == [(500, 0.5)]
    assert "left over from a previous run" in caplog.text


def test_resume_keeps_events_and_continues_the_curve(tmp_path: Path, registry: StatsRegistry) -> None:
    train(registry, TensorboardWriter(tmp_path, clear_past_data=True), [1000, 2000])
    train(registry, TensorboardWriter(tmp_path, clear_past_data=False), [3000, 4000])

    folder = tmp_path / "3DBall"
    assert len(event_files(folder)) == 2
    # (By step, as TensorBoard plots it: two files named in the same second sort by torch's writer
    # counter as text, which puts writer 10 before writer 9 of a long-lived process.)
    curve = sorted(scalar_curve(read_events(folder), "Environment/Cumulative Reward"))
    assert [step for step, _ in curve] == [1000, 2000, 3000, 4000]
    assert [v for _, v in curve] == pytest.approx([2.0, 4.0, 6.0, 8.0])


def test_one_folder_per_behavior(tmp_path: Path, registry: StatsRegistry) -> None:
    writer = TensorboardWriter(tmp_path)
    registry.add_writer(writer)
    for name in ("Striker", "Goalie"):
        rep = StatsReporter(name, registry)
        rep.add_stat("Policy/Entropy", 1.5)
        rep.write_stats(100)
    writer.close()
    for name in ("Striker", "Goalie"):
        assert scalar_curve(read_events(tmp_path / name), "Policy/Entropy") == [(100, 1.5)]
