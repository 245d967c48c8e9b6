"""Teams: behaviors named `Name?team=<id>` (ML-Agents' behavior ids) and one behavior for them all.

ML-Agents reads a behavior id as a URL: the path is the behavior's name, the query its team (0 when
there is none). Its trainers are per name: without self-play the teams of a name share one policy,
trained on every team's agents. `TeamsVectorEnv` gives the trainers that shape: the teams of a name
(of equal specs) become one behavior `Name` whose slots are the teams' slots one team after
another (`teams(name)` says whose each slot is); the arrays are copied in after each step and the
actions copied out before it. An asymmetric game's behaviors (one team each, different names:
`Striker?team=0`, `Goalie?team=1`) become `Striker` and `Goalie` the same way.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np
from numpy.typing import NDArray

from mlagents_fast.envs.vector import StepBatch, VectorEnv
from mlagents_fast.run.stats import StatsAggregationMethod
from mlagents_fast.spec import ActionTuple, BehaviorSpec


@dataclass(frozen=True)
class BehaviorId:
    behavior_id: str  # as the environment names it: "Tennis?team=1"
    name: str  # "Tennis"
    team: int  # 1

    @staticmethod
    def parse(behavior_id: str) -> BehaviorId:
        """`Name?team=<id>` (team 0 when there is no query). A team that is not a whole number is a
        ValueError naming the id."""
        parsed = urlparse(behavior_id)
        teams = parse_qs(parsed.query).get("team", ["0"])
        try:
            team = int(teams[0])
        except ValueError:
            raise ValueError(f"Behavior {behavior_id!r}: its team must be a whole number (Name?team=0).") from None
        return BehaviorId(behavior_id, parsed.path, team)


def team_groups(specs: Mapping[str, BehaviorSpec]) -> dict[str, list[BehaviorId]]:
    """The names that behaviors with a team carry, each with its teams in team order."""
    by_name: dict[str, list[BehaviorId]] = {}
    for behavior in specs:
        parsed = BehaviorId.parse(behavior)
        if parsed.behavior_id != parsed.name:  # it names a team
            by_name.setdefault(parsed.name, []).append(parsed)
    return {name: sorted(ids, key=lambda i: i.team) for name, ids in by_name.items()}


_COPIED = [f.name for f in fields(StepBatch) if f.name not in ("obs", "terminal_obs", "agent_id", "action_mask",
                                                                 "absent", "opponent")]  # fmt: skip


class TeamsVectorEnv(VectorEnv):
    """`env` with the teams of each name (`team_groups`) as one behavior `Name`."""

    def __init__(self, env: VectorEnv) -> None:
        self.env, self.name, self.num_envs = env, env.name, env.num_envs
        specs = env.behavior_specs
        self._teams: dict[str, list[BehaviorId]] = {}
        for name, ids in team_groups(specs).items():
            if len({specs[i.behavior_id] for i in ids}) != 1:
                raise ValueError(
                    f"Environment {env.name!r}: the teams of {name!r} differ in their observations or "
                    "actions; give each its own behavior name (as ML-Agents' asymmetric games do)."
                )
            if name in specs:
                raise ValueError(f"Environment {env.name!r} has both {name!r} and team behaviors of that name.")
            self._teams[name] = ids
        merged = {i.behavior_id for ids in self._teams.values() for i in ids}
        self._specs = {b: s for b, s in specs.items() if b not in merged}
        self._batches: dict[str, StepBatch] = {}
        self._actions: dict[str, ActionTuple] = {}
        self._slots: dict[str, list[slice]] = {}
        self._team_of_slot: dict[str, NDArray[np.int32]] = {}
        for name, ids in self._teams.items():
            spec = specs[ids[0].behavior_id]
            counts = [env.num_agents(i.behavior_id) for i in ids]
            edges = np.cumsum([0, *counts])
            self._slots[name] = [slice(int(a), int(b)) for a, b in itertools.pairwise(edges.tolist())]
            self._team_of_slot[name] = np.repeat([i.team for i in ids], counts).astype(np.int32)
            self._specs[name] = spec
            self._batches[name] = StepBatch.allocate(spec, int(edges[-1]))
            action = spec.action_spec
            self._actions[name] = ActionTuple(np.zeros((int(edges[-1]), action.continuous_size), np.float32),
                                              np.zeros((int(edges[-1]), action.discrete_size), np.int32))  # fmt: skip
        self._gather()  # (the environment holds its first observations already)

    @property
    def behavior_specs(self) -> Mapping[str, BehaviorSpec]:
        return self._specs

    def teams(self, behavior: str) -> NDArray[np.int32] | None:
        """The team of each slot of a merged behavior (None for another behavior)."""
        return self._team_of_slot.get(behavior)

    def batch(self, behavior: str) -> StepBatch:
        self._check_behavior(behavior)
        return self._batches[behavior] if behavior in self._teams else self.env.batch(behavior)

    def actions(self, behavior: str) -> ActionTuple:
        self._check_behavior(behavior)
        return self._actions[behavior] if behavior in self._teams else self.env.actions(behavior)

    def reset(self, seed: int | None = None) -> None:
        self.env.reset(seed)
        self._gather()

    def step(self) -> None:
        for name, ids in self._teams.items():
            merged = self._actions[name]
            for team, rows in zip(ids, self._slots[name], strict=True):
                target = self.env.actions(team.behavior_id)
                target.continuous[...] = merged.continuous[rows]
                target.discrete[...] = merged.discrete[rows]
        self.env.step()
        self._gather()

    def _gather(self) -> None:
        for name, ids in self._teams.items():
            out = self._batches[name]
            for team, rows in zip(ids, self._slots[name], strict=True):
                part = self.env.batch(team.behavior_id)
                for mine, theirs in zip((*out.obs, *out.terminal_obs), (*part.obs, *part.terminal_obs), strict=True):
                    mine[rows] = theirs
                for field in _COPIED:
                    getattr(out, field)[rows] = getattr(part, field)
                if out.action_mask is not None and part.action_mask is not None:
                    out.action_mask[rows] = part.action_mask
                if out.absent is not None:
                    out.absent[rows] = False if part.absent is None else part.absent

    @staticmethod
    def wrap(env: VectorEnv) -> VectorEnv:
        """`env` itself when none of its behaviors names a team, else its TeamsVectorEnv."""
        return TeamsVectorEnv(env) if team_groups(env.behavior_specs) else env

    def set_parameters(self, parameters: Mapping[str, Any]) -> None:
        self.env.set_parameters(parameters)

    def game_stats(self) -> dict[str, list[tuple[float, StatsAggregationMethod]]]:
        return self.env.game_stats()

    def close(self) -> None:
        self.env.close()
