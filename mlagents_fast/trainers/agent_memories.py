"""Every agent's recurrent memories between steps (`network_settings.memory`), for any trainer."""

from __future__ import annotations

import numpy as np
import torch
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

    def current(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """The actor's and the critic's memories as the next forward reads them (views on the CPU)."""
        return torch.from_numpy(self.actor).to(device), torch.from_numpy(self.critic).to(device)

    def keep(self, actor_after: torch.Tensor, critic_after: torch.Tensor | None) -> None:
        """The memories after this step's forward, current once the step is recorded (None: the
        critic does not act, and its memories stay zero)."""
        self.next_actor[...] = actor_after.cpu().numpy()
        if critic_after is not None:
            self.next_critic[...] = critic_after.cpu().numpy()

    def commit(self, done: NDArray[np.bool_]) -> None:
        """The step is recorded: its memories become current (the two sets of arrays change places,
        no copy); an ended episode's next one starts from zero."""
        self.actor, self.next_actor = self.next_actor, self.actor
        self.critic, self.next_critic = self.next_critic, self.critic
        self.actor[done] = 0.0
        self.critic[done] = 0.0

    def forget(self) -> None:
        for array in (self.actor, self.critic, self.next_actor, self.next_critic):
            array[...] = 0.0
