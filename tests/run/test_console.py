from __future__ import annotations

import io
import logging
import re

import pytest

from mlagents_fast.run.console_writer import ConsoleWriter, ProgressLine, format_duration
from mlagents_fast.run.log import configure_logging
from mlagents_fast.run.stats import StatsAggregationMethod, StatsPropertyType, StatsRegistry, StatsReporter


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def quiet_progress() -> ProgressLine:
    return ProgressLine(stream=io.StringIO)  # never a terminal: prints nothing


def test_summary_line_with_rewards(registry: StatsRegistry, caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    registry.add_writer(ConsoleWriter(quiet_progress(), clock=clock))
    rep = StatsReporter("3DBall", registry)
    for r in (1.0, 2.0, 3.0):
        rep.add_stat("Environment/Cumulative Reward", r, StatsAggregationMethod.HISTOGRAM)
    rep.set_stat("Is Training", 1.0)
    clock.now += 21.0433
    with caplog.at_level(logging.INFO, logger="mlagents_fast"):
        rep.write_stats(12000)
    assert caplog.messages == [
        "3DBall. Step: 12000. Time Elapsed: 21.043 s. Mean Reward: 2.000. Std of Reward: 0.816. Training."
    ]
    assert caplog.records[0].levelname == "INFO"


def test_summary_line_without_episodes(registry: StatsRegistry, caplog: pytest.LogCaptureFixture) -> None:
    registry.add_writer(ConsoleWriter(quiet_progress(), clock=FakeClock()))
    rep = StatsReporter("Walker", registry)
    rep.add_stat("Policy/Entropy", 1.0)
    with caplog.at_level(logging.INFO, logger="mlagents_fast"):
        rep.write_stats(500)
        rep.set_stat("Is Training", 0.0)
        rep.write_stats(1000)
    assert caplog.messages == [
        "Walker. Step: 500. Time Elapsed: 0.000 s. No episode was completed since last summary. Not Training.",
        "Walker. Step: 1000. Time Elapsed: 0.000 s. No episode was completed since last summary. Not Training.",
    ]


def test_group_reward_and_elo(registry: StatsRegistry, caplog: pytest.LogCaptureFixture) -> None:
    registry.add_writer(ConsoleWriter(quiet_progress(), clock=FakeClock()))
    rep = StatsReporter("Soccer", registry)
    rep.add_property(StatsPropertyType.SELF_PLAY, True)
    rep.add_stat("Environment/Cumulative Reward", 0.5)
    rep.add_stat("Environment/Group Cumulative Reward", 1.25)
    rep.set_stat("Self-play/ELO", 1210.5)
    rep.set_stat("Is Training", 1.0)
    with caplog.at_level(logging.INFO, logger="mlagents_fast"):
        rep.write_stats(10)
    assert caplog.messages[-1].endswith("Mean Reward: 0.500. Mean Group Reward: 1.250. Training. ELO: 1210.500.")


def test_hyperparameters_logged(registry: StatsRegistry, caplog: pytest.LogCaptureFixture) -> None:
    registry.add_writer(ConsoleWriter(quiet_progress()))
    with caplog.at_level(logging.INFO, logger="mlagents_fast"):
        StatsReporter("3DBall", registry).add_property(StatsPropertyType.HYPERPARAMETERS, {"max_steps": 5})
    assert caplog.messages == ["Hyperparameters for behavior name 3DBall: \n\tmax_steps:\t5"]


def test_info_format_is_mlagents_style() -> None:
    out = io.StringIO()
    logger = configure_logging(stream=out)
    try:
        logging.getLogger("mlagents_fast.run.console_writer").info("3DBall. Step: 1.")
        configure_logging(stream=out)  # reconfiguring replaces the handler: no duplicate lines
        logging.getLogger("mlagents_fast.run.console_writer").info("again")
    finally:
        for h in list(logger.handlers):
            logger.removeHandler(h)
        logger.setLevel(logging.NOTSET)
    assert out.getvalue() == "[INFO] 3DBall. Step: 1.\n[INFO] again\n"


def test_progress_line_on_a_terminal() -> None:
    term, clock = Terminal(), FakeClock(0.0)
    progress = ProgressLine(stream=lambda: term, min_interval=0.25, clock=clock)
    writer = ConsoleWriter(progress)
    writer.add_property("3DBall", StatsPropertyType.HYPERPARAMETERS, {"max_steps": 1000})
    writer.on_add_stat("3DBall", "Step", 0.0, StatsAggregationMethod.MOST_RECENT)
    clock.now = 5.0
    writer.on_add_stat("3DBall", "Step", 500.0, StatsAggregationMethod.MOST_RECENT)
    clock.now = 5.1  # throttled: not redrawn
    writer.on_add_stat("3DBall", "Step", 510.0, StatsAggregationMethod.MOST_RECENT)
    draws = [d for d in term.getvalue().split("\r") if d]
    assert draws[-1] == "3DBall: step 500/1000 (50.0%) | 100 steps/s | ETA 0:00:05\x1b[K"
    assert len(draws) == 2
    writer.progress.clear()
    assert term.getvalue().endswith("\r\x1b[K")
    clock.now = 10.0  # past max_steps (acting on for --inference or other behaviors): no total, no ETA
    writer.on_add_stat("3DBall", "Step", 1500.0, StatsAggregationMethod.MOST_RECENT)
    assert term.getvalue().split("\r")[-1] == "3DBall: step 1500 | 150 steps/s\x1b[K"


def test_no_progress_output_when_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    writer = ConsoleWriter()  # default stream: sys.stdout, captured (not a terminal) here
    for step in range(0, 10000, 100):
        writer.on_add_stat("3DBall", "Step", float(step), StatsAggregationMethod.MOST_RECENT)
    writer.write_stats("3DBall", {}, 10000)
    assert capsys.readouterr().out == ""


def test_format_duration() -> None:
    assert format_duration(0) == "0:00:00"
    assert format_duration(3725.9) == "1:02:05"
    assert re.fullmatch(r"27:46:40", format_duration(100000))


def test_log_records_erase_the_progress_line_on_a_terminal() -> None:
    term = Terminal()
    logger = configure_logging(stream=term)
    try:
        ProgressLine(stream=lambda: term).update("3DBall", 100)
        logging.getLogger("mlagents_fast.run.checkpoints").info("Exported 3DBall-100.onnx")
    finally:
        for h in list(logger.handlers):
            logger.removeHandler(h)
        logger.setLevel(logging.NOTSET)
    assert term.getvalue() == "\r3DBall: step 100\x1b[K\r\x1b[K[INFO] Exported 3DBall-100.onnx\n"
