"""Who an agent's groupmates are at each step, read from the rollout ring.

The ring keeps, per step and agent slot, the agent's group (`group_id`, 0: none) and whether it
sat out (`absent`: it asked for no decision). An agent's groupmates at a step are the other
slots of its group that did not sit out then, at the same ring step (the same row of the ring:
one step of every slot of the behavior).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def _same_step(rows: NDArray[np.int64], agents: int) -> NDArray[np.int64]:
    """[R, agents]: the flat ring rows of every slot at each row's ring step."""
    return (rows // agents)[:, None] * agents + np.arange(agents)[None, :]


def _members(rows: NDArray[np.int64], group_id: NDArray[np.int32], absent: NDArray[np.bool_],
             agents: int) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:  # fmt: skip
    """(the rows at each row's step, which of them are in its group and present, itself included)."""
    step = _same_step(rows, agents)
    own = group_id[rows]
    member = (group_id[step] == own[:, None]) & ~absent[step]
    member &= own[:, None] > 0
    member[np.arange(len(rows)), rows % agents] = True
    return step, member


def groupmates(rows: NDArray[np.int64], group_id: NDArray[np.int32], absent: NDArray[np.bool_],
               agents: int) -> NDArray[np.int64]:  # fmt: skip
    """[R, M]: each row's present groupmates at its step (flat ring rows), -1 past the last; M the
    most any row has (0 when no row has one). `group_id` and `absent` are flat ring planes."""
    step, member = _members(rows, group_id, absent, agents)
    member[np.arange(len(rows)), rows % agents] = False
    most = int(member.sum(axis=1).max()) if len(rows) else 0
    order = np.argsort(~member, axis=1, kind="stable")[:, :most]
    packed = np.take_along_axis(step, order, axis=1)
    return np.where(np.take_along_axis(member, order, axis=1), packed, -1)


def group_all_done(rows: NDArray[np.int64], group_id: NDArray[np.int32], absent: NDArray[np.bool_],
                   done: NDArray[np.bool_], agents: int) -> NDArray[np.bool_]:  # fmt: skip
    """[R]: whether every present member of each row's group (itself included) ended its episode
    at that step (an agent without a group: whether it did)."""
    step, member = _members(rows, group_id, absent, agents)
    return ~np.any(member & ~done[step], axis=1)
