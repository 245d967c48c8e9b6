"""`mlagents-fast record`: every built-in environment's heuristic plays and its decisions become a
`.demo` whose behavior spec is the environment's; the heuristics that should score do."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlagents_fast.demonstrations.reader import read_demonstration
from mlagents_fast.envs import make
from mlagents_fast.envs.testing.heuristics import heuristic_names
from mlagents_fast.learn import main

# The mean return each heuristic reaches (at least), where it solves its environment.
SCORES = {"Basic": 0.93, "CartPole": 475.0, "3DBall": 99.9, "3DBallHard": 99.9, "GridWorld": 0.5, "PushBlock": 4.0,
          "SimpleEnvironment": 0.9}  # fmt: skip


@pytest.mark.parametrize("name", heuristic_names())
def test_every_heuristic_records_a_demonstration_of_its_environment(tmp_path: Path, name: str) -> None:
    out = tmp_path / f"{name}.demo"
    assert main(["record", name, "--episodes", "2", "--out", str(out), "--seed", "3"]) == 0
    demo = read_demonstration(out)
    env = make(name, 1)
    behavior = next(iter(env.behavior_specs))
    theirs = env.behavior_specs[behavior]
    assert demo.behavior_name == behavior and demo.meta.number_episodes == 2 and int(demo.dones.sum()) == 2
    assert [o.shape for o in demo.spec.observation_specs] == [o.shape for o in theirs.observation_specs]
    assert demo.spec.action_spec == theirs.action_spec
    if name in SCORES:
        assert demo.meta.mean_reward >= SCORES[name]


def test_a_behavior_is_chosen_and_bad_requests_are_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "big.demo"
    assert main(["record", "WallJump", "--behavior", "BigWallJump", "--episodes", "1", "--out", str(out)]) == 0
    assert read_demonstration(out).behavior_name == "BigWallJump"
    for argv, expected in [
        (["record", "Nope", "--out", str(tmp_path / "x.demo")], "There is no heuristic for 'Nope'"),
        (["record", "WallJump", "--behavior", "Tall", "--out", str(tmp_path / "x.demo")], "has no behavior 'Tall'"),
        (["record", "Basic", "--episodes", "0", "--out", str(tmp_path / "x.demo")], "--episodes must be at least 1"),
        (["record", "Basic", "--out", str(tmp_path / "x.txt")], "ends in .demo"),
    ]:
        assert main(argv) == 1
        error = capsys.readouterr().err
        assert expected in error and "Traceback" not in error
    assert not (tmp_path / "x.demo").exists()
