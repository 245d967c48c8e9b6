"""Every built-in environment's heuristic: the seeds' Heuristic brain, a scripted teacher to record.

`teacher(name, behavior, num_envs, seed)` returns an environment to play and the policy that
plays it. Where the observations are enough (Basic, CartPole, ML-Agents' test environments)
the native environment is played; where a heuristic needs the game's state (3DBall's ball,
GridWorld's cells, PushBlock's block, WallJump's wall, Pyramids' switch, Hallway's symbol), the
plain-Python reference is played instead, through `ReferenceEnv`: its steps are the native
environment's to the bit (the parity tests), so what it records is what the native environment
would have produced.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mlagents_fast.envs.testing.recorder import GoalFollower
from mlagents_fast.envs.testing.reference import (
    hallway,
    pushblock,
    pushblock_collab,
    pyramids,
    rules,
    soccer,
    sorter,
    tennis,
    walljump,
)
from mlagents_fast.envs.testing.reference.driver import ReferenceVectorEnv
from mlagents_fast.envs.vector import SingleBehaviorVectorEnv, StepBatch, VectorEnv
from mlagents_fast.spec import ActionTuple, BehaviorSpec

Policy = Callable[[VectorEnv, str], ActionTuple]


class ReferenceEnv(SingleBehaviorVectorEnv):
    """A plain-Python reference environment as a VectorEnv of one behavior (`spec` as the native one's)."""

    def __init__(self, name: str, rule_set: rules.Rules, spec: BehaviorSpec, num_envs: int, seed: int) -> None:
        self.name, self.num_envs, self.behavior = name, num_envs, rule_set.behavior
        self.reference = ReferenceVectorEnv(rule_set, num_envs, seed)
        self._specs = {self.behavior: spec}
        port = self.reference
        slots = len(port.reward)
        self._batch = StepBatch(tuple(port.obs), tuple(port.terminal_obs), port.reward, port.terminated, port.truncated,
                                port.action_mask if rule_set.branches else None, np.arange(slots, dtype=np.int32),
                                np.zeros(slots, np.int32), np.zeros(slots, np.float32), port.episode_return,
                                port.episode_length)  # fmt: skip
        self._actions = ActionTuple(port.continuous_actions, port.discrete_actions)

    @property
    def states(self) -> list[Any]:
        """Each agent's game state (the reference rules' own objects)."""
        return self.reference._states

    def reset(self, seed: int | None = None) -> None:
        self.reference.reset(0 if seed is None else seed)

    def step(self) -> None:
        self.reference.step()

    def close(self) -> None:
        pass


class GameReferenceEnv(SingleBehaviorVectorEnv):
    """A plain-Python reference whose agents play together (PushBlockCollab's: its own driver, with
    the native arrays, group ids and group rewards) as a VectorEnv of one behavior."""

    def __init__(self, name: str, port: Any, spec: BehaviorSpec, seed: int) -> None:
        self.name, self.num_envs, self.behavior = name, port.num_envs, name
        self.reference, self._seed = port, seed
        self._specs = {name: spec}
        slots = len(port.reward)
        self._batch = StepBatch(tuple(port.obs), tuple(port.terminal_obs), port.reward, port.terminated, port.truncated,
                                port.action_mask, np.arange(slots, dtype=np.int32), port.group_id, port.group_reward,
                                port.episode_return, port.episode_length)  # fmt: skip
        self._actions = ActionTuple(np.zeros((slots, 0), np.float32), port.discrete_actions)

    @property
    def states(self) -> list[Any]:
        """Each area's game state (the reference's own objects)."""
        return list(self.reference.states)

    def reset(self, seed: int | None = None) -> None:
        self.reference.reset(self._seed if seed is None else seed)

    def step(self) -> None:
        self.reference.step()

    def close(self) -> None:
        pass


# ---------------------------------------------------------------- the policies
def go_right(env: VectorEnv, behavior: str) -> ActionTuple:
    """Basic: the large goal (17) is to the right of the start (10)."""
    actions = env.actions(behavior)
    actions.discrete[:] = 2
    return actions


def balance_pole(env: VectorEnv, behavior: str) -> ActionTuple:
    """CartPole: push the cart under the way the pole falls."""
    obs, actions = env.batch(behavior).obs[0], env.actions(behavior)
    actions.discrete[:, 0] = (obs[:, 2] + 0.5 * obs[:, 3] > 0.0).astype(np.int32)
    return actions


def balance_ball(env: VectorEnv, behavior: str) -> ActionTuple:
    """3DBall: tilt the platform against the ball's offset and speed, and towards level."""
    assert isinstance(env, ReferenceEnv)
    actions = env.actions(behavior)
    for slot, s in enumerate(env.states):
        (px, _, pz), (vx, _, vz), (_, qx, _, qz) = s["p"], s["v"], s["q"]
        actions.continuous[slot] = np.clip([0.5 * px + 0.2 * vx - 5.0 * qz, -(0.5 * pz + 0.2 * vz) - 5.0 * qx], -1, 1)
    return actions


def walk_to_goal(env: VectorEnv, behavior: str) -> ActionTuple:
    """GridWorld: a step towards the nearest goal of the signalled kind that lands on no other goal."""
    assert isinstance(env, ReferenceEnv)
    actions = env.actions(behavior)
    moves = {1: (0, 1), 2: (0, -1), 3: (-1, 0), 4: (1, 0)}  # up +z, down -z, left -x, right +x
    for slot, s in enumerate(env.states):
        wanted = [(gx, gz) for gx, gz, kind in s["goals"] if kind == s["kind"]]
        avoid = {(gx, gz) for gx, gz, kind in s["goals"] if kind != s["kind"]}
        choice = 0
        if wanted:
            tx, tz = min(wanted, key=lambda g: abs(g[0] - s["x"]) + abs(g[1] - s["z"]))
            for action, (dx, dz) in moves.items():
                x, z = s["x"] + dx, s["z"] + dz
                closer = abs(tx - x) + abs(tz - z) < abs(tx - s["x"]) + abs(tz - s["z"])
                if closer and (x, z) not in avoid and 0 <= x < s["size"] and 0 <= z < s["size"]:
                    choice = action
                    break
        actions.discrete[slot, 0] = choice
    return actions


def play_tennis(env: VectorEnv, behavior: str) -> ActionTuple:
    """Tennis's scripted player on each agent's newest observed frame (its mirrored view)."""
    actions = env.actions(behavior)
    frames = env.batch(behavior).obs[0].reshape(len(actions.continuous), tennis.STACK, tennis.OBS)[:, -1]
    for slot, frame in enumerate(frames):
        actions.continuous[slot] = tennis.play(frame)
    return actions


def play_soccer(env: VectorEnv, behavior: str) -> ActionTuple:
    """SoccerTwos's scripted player on each player's own newest forward rays: it chases the ball."""
    actions = env.actions(behavior)
    for slot, forward in enumerate(env.batch(behavior).obs[0]):
        actions.discrete[slot] = soccer.play(forward)
    return actions


def team_rule(rule: Callable[[Any, int], int], agents: int) -> Policy:
    """A policy from a rule on an area's reference state and an agent's index in it (PushBlockCollab's)."""

    def play(env: VectorEnv, behavior: str) -> ActionTuple:
        assert isinstance(env, GameReferenceEnv)
        actions = env.actions(behavior)
        for k, area in enumerate(env.states):
            for i in range(agents):
                actions.discrete[agents * k + i] = rule(area, i)
        return actions

    return play


def state_rule(rule: Callable[[Any], int | list[int]]) -> Policy:
    """A policy from a rule on one agent's reference state (PushBlock's, WallJump's)."""

    def play(env: VectorEnv, behavior: str) -> ActionTuple:
        assert isinstance(env, ReferenceEnv)
        actions = env.actions(behavior)
        for slot, s in enumerate(env.states):
            actions.discrete[slot] = rule(s)
        return actions

    return play


REFERENCE_RULES: dict[str, Callable[[], rules.Rules]] = {
    "3DBall": lambda: rules.Ball3D(hard=False),
    "3DBallHard": lambda: rules.Ball3D(hard=True),
    "GridWorld": rules.GridWorld,
    "Hallway": lambda: hallway.Hallway(areas=1),
    "PushBlock": lambda: pushblock.PushBlock(areas=1),
    "Pyramids": lambda: pyramids.Pyramids(areas=1),
    "Sorter": lambda: sorter.Sorter(areas=1),
    "SmallWallJump": lambda: walljump.WallJump(big=False),
    "BigWallJump": lambda: walljump.WallJump(big=True),
}
# Areas whose agents play together, played through their own reference driver (one area a copy).
REFERENCE_GAMES: dict[str, Callable[[int, int], Any]] = {
    "PushBlockCollab": lambda num_envs, seed: pushblock_collab.PushBlockCollabReference(num_envs, areas=1, seed=seed),
}
POLICIES: dict[str, Callable[[], Policy]] = {
    "Basic": lambda: go_right,
    "CartPole": lambda: balance_pole,
    "3DBall": lambda: balance_ball,
    "3DBallHard": lambda: balance_ball,
    "GridWorld": lambda: walk_to_goal,
    "Hallway": lambda: state_rule(hallway.heuristic),
    "PushBlock": lambda: state_rule(pushblock.heuristic),
    "Pyramids": lambda: state_rule(pyramids.heuristic),
    "Sorter": lambda: state_rule(sorter.heuristic),
    "Tennis": lambda: play_tennis,
    "SoccerTwos": lambda: play_soccer,
    "PushBlockCollab": lambda: team_rule(pushblock_collab.heuristic, pushblock_collab.AGENTS),
    "SmallWallJump": lambda: state_rule(walljump.heuristic),
    "BigWallJump": lambda: state_rule(walljump.heuristic),
    "SimpleEnvironment": GoalFollower,
    "MemoryEnvironment": GoalFollower,
    "MultiAgentEnvironment": GoalFollower,
}


def heuristic_names() -> list[str]:
    return sorted({*POLICIES} - {"SmallWallJump", "BigWallJump"} | {"WallJump"})


def teacher(name: str, behavior: str | None = None, num_envs: int = 1, seed: int = 0) -> tuple[VectorEnv, str, Policy]:
    """(environment, behavior, policy): `name`'s heuristic ready to play `behavior` (default: its first)."""
    from mlagents_fast.envs.registry import make

    if name not in heuristic_names():
        raise ValueError(f"There is no heuristic for {name!r}; environments with one: {', '.join(heuristic_names())}.")
    native = make(name, num_envs, seed=seed)
    behavior = behavior or next(iter(native.behavior_specs))
    if behavior not in native.behavior_specs:
        known = ", ".join(native.behavior_specs)
        raise ValueError(f"Environment {name!r} has no behavior {behavior!r}; its behaviors are: {known}.")
    key = behavior if name == "WallJump" else name
    if key in REFERENCE_GAMES:
        spec = native.behavior_specs[behavior]
        native.close()
        return GameReferenceEnv(name, REFERENCE_GAMES[key](num_envs, seed), spec, seed), behavior, POLICIES[key]()
    if key not in REFERENCE_RULES:
        return native, behavior, POLICIES[key]()
    spec = native.behavior_specs[behavior]  # (per agent: the same whatever the areas per copy)
    native.close()
    return ReferenceEnv(name, REFERENCE_RULES[key](), spec, num_envs, seed), behavior, POLICIES[key]()
