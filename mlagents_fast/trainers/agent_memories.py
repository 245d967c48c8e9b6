"""Every agent's recurrent memories between steps (`network_settings.memory`), for any trainer."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


class Memories:
    """Every agent's actor and critic memories between steps. A step's forward writes the
    memories after it into `next_*`; `commit` makes them current once the step is recorded
    (an update between the two acts again from the same memories)."""

    def __init__(self, agents: int, size: int) -> None:
        self.actor = np.zeros((agents, size), np.float32)
        self.critic = np.zeros((agents, size), np.float32)
        self.next_actor = np.zeros_like(self.actor)
        self.next_critic = np.zeros_like(self.critic)

    def commit(self, done: NDArray[np.bool_]) -> None:
        """The step is recorded: its memories become current; an ended episode's next one starts from zero."""
        np.copyto(self.actor, self.next_actor)
        np.copyto(self.critic, self.next_critic)
        self.actor[done] = 0.0
        self.critic[done] = 0.0

    def forget(self) -> None:
        for array in (self.actor, self.critic, self.next_actor, self.next_critic):
            array[...] = 0.0
