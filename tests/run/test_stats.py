from __future__ import annotations

import math

import pytest

from mlagents_fast.run.stats import (
    StatsAggregationMethod,
    StatsPropertyType,
    StatsRegistry,
    StatsReporter,
    StatsSummary,
    StatsWriter,
    hyperparameters_to_str,
)


class RecordingWriter(StatsWriter):
    def __init__(self) -> None:
        self.summaries: list[tuple[str, dict[str, StatsSummary], int]] = []
        self.added: list[tuple[str, str, float, StatsAggregationMethod]] = []
        self.properties: list[tuple[str, StatsPropertyType, object]] = []

    def on_add_stat(
        self,
        category: str,
        key: str,
        value: float,
        aggregation: StatsAggregationMethod = StatsAggregationMethod.AVERAGE,
    ) -> None:
        self.added.append((category, key, value, aggregation))

    def write_stats(self, category: str, values: dict[str, StatsSummary], step: int) -> None:
        self.summaries.append((category, values, step))

    def add_property(self, category: str, property_type: StatsPropertyType, value: object) -> None:
        self.properties.append((category, property_type, value))


def test_aggregation_kinds(registry: StatsRegistry) -> None:
    writer = RecordingWriter()
    registry.add_writer(writer)
    rep = StatsReporter("Ball", registry)
    for v in (1.0, 2.0, 6.0):
        rep.add_stat("avg", v)
        rep.add_stat("sum", v, StatsAggregationMethod.SUM)
        rep.add_stat("hist", v, StatsAggregationMethod.HISTOGRAM)
        rep.add_stat("recent", v, StatsAggregationMethod.MOST_RECENT)
        rep.set_stat("set", v)
    rep.write_stats(500)

    [(category, values, step)] = writer.summaries
    assert (category, step) == ("Ball", 500)
    assert values["avg"].aggregated_value == pytest.approx(3.0)
    assert values["avg"].std == pytest.approx(math.sqrt(((1 - 3) ** 2 + (2 - 3) ** 2 + (6 - 3) ** 2) / 3))
    assert values["sum"].aggregated_value == pytest.approx(9.0)
    assert values["hist"].aggregated_value == pytest.approx(3.0)
    assert list(values["hist"].full_dist) == [1.0, 2.0, 6.0]
    assert values["recent"].aggregated_value == 6.0 and values["recent"].num == 1
    assert values["set"].aggregation_method == StatsAggregationMethod.MOST_RECENT
    assert values["set"].aggregated_value == 6.0


def test_write_clears_only_its_category(registry: StatsRegistry) -> None:
    writer = RecordingWriter()
    registry.add_writer(writer)
    a, b = StatsReporter("A", registry), StatsReporter("B", registry)
    a.add_stat("x", 1.0)
    b.add_stat("x", 5.0)
    a.write_stats(1)
    a.write_stats(2)  # nothing pending any more: writers still called, with no values
    assert writer.summaries[0][1]["x"].mean == 1.0
    assert writer.summaries[1] == ("A", {}, 2)
    assert b.get_stats_summaries("x").mean == 5.0
    assert a.get_stats_summaries("x") == StatsSummary.empty()


def test_writers_see_every_value_and_properties(registry: StatsRegistry) -> None:
    writer = RecordingWriter()
    registry.add_writer(writer)
    rep = StatsReporter("A", registry)
    rep.add_stat("k", 2.0, StatsAggregationMethod.SUM)
    rep.set_stat("Step", 10.0)
    rep.add_property(StatsPropertyType.HYPERPARAMETERS, {"lr": 3e-4})
    assert writer.added == [
        ("A", "k", 2.0, StatsAggregationMethod.SUM),
        ("A", "Step", 10.0, StatsAggregationMethod.MOST_RECENT),
    ]
    assert writer.properties == [("A", StatsPropertyType.HYPERPARAMETERS, {"lr": 3e-4})]


def test_aggregation_codes_match_the_side_channel() -> None:
    assert [m.value for m in StatsAggregationMethod] == [0, 1, 2, 3]
    assert StatsAggregationMethod(3) is StatsAggregationMethod.HISTOGRAM


def test_hyperparameters_text() -> None:
    text = hyperparameters_to_str({"trainer_type": "ppo", "network_settings": {"hidden_units": 128, "num_layers": 2}})
    assert text == "\ttrainer_type:\tppo\n\tnetwork_settings:\t\n\t  hidden_units:\t128\n\t  num_layers:\t2"
