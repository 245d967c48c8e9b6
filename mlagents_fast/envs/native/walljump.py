"""WallJump's two behaviors, SmallWallJump and BigWallJump, as one environment.

Unity switches an agent between the behaviors each episode (2 of 5 episodes SmallWallJump,
3 of 5 BigWallJump); here each area's agent keeps one (native/include/mlaf/envs/walljump.h),
and a copy has `areas` areas split in the same shares, each behavior one native VecEnv.
"""

from __future__ import annotations

from mlagents_fast.envs.composite import CompositeVectorEnv
from mlagents_fast.envs.native.env import NativeVectorEnv

BEHAVIORS = ("SmallWallJump", "BigWallJump")


def area_split(areas: int) -> tuple[int, int]:
    """(SmallWallJump, BigWallJump) areas of a copy with `areas` areas: two fifths and three fifths."""
    if not isinstance(areas, int) or isinstance(areas, bool) or areas < 2:
        raise ValueError(
            f"WallJump option 'areas' must be a whole number of at least 2 (one per behavior); got {areas!r}."
        )
    small = min(max(round(areas * 2 / 5), 1), areas - 1)
    return small, areas - small


def make_wall_jump(num_envs: int = 1, seed: int = 0, *, num_threads: int = 1, areas: int = 25) -> CompositeVectorEnv:
    """`num_envs` copies of WallJump with `areas` areas each (25: 10 SmallWallJump, 15 BigWallJump)."""
    small, big = area_split(areas)
    envs = {
        "SmallWallJump": NativeVectorEnv("WallJump", num_envs, num_threads=num_threads, big=0, areas=small),
        "BigWallJump": NativeVectorEnv("WallJump", num_envs, num_threads=num_threads, big=1, areas=big),
    }
    env = CompositeVectorEnv("WallJump", envs)
    env.reset(seed)
    return env
