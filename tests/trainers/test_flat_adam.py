"""FlatAdam against torch.optim.Adam: the same parameters after the same gradient steps."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from mlagents_fast.trainers.flat_adam import FlatAdam


@pytest.mark.parametrize("mode", ["native kernel", "plain ops", "fused kernel"])
def test_matches_torch_adam(mode: str) -> None:
    torch.manual_seed(0)
    ours = nn.Sequential(nn.Linear(5, 7), nn.SiLU(), nn.Linear(7, 3))
    theirs = copy.deepcopy(ours)
    flat = FlatAdam(ours.parameters(), lr=1e-2, fused_above=0 if mode == "fused kernel" else 10_000)
    if mode == "plain ops":
        flat._arrays = None  # the torch-op step other devices take
    reference = torch.optim.Adam(theirs.parameters(), lr=1e-2)
    for step in range(20):
        x = torch.randn(16, 5)
        flat.param_groups[0]["lr"] = reference.param_groups[0]["lr"] = 1e-2 / (1 + step)
        flat.zero_grad()
        ours(x).square().mean().backward()
        flat.check_gradients_in_place()
        flat.step()
        reference.zero_grad()
        theirs(x).square().mean().backward()
        reference.step()
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert flat.steps == 20


def test_state_round_trip_and_shape_check() -> None:
    net = nn.Linear(3, 2)
    adam = FlatAdam(net.parameters(), lr=0.1)
    adam.zero_grad()
    net(torch.ones(1, 3)).sum().backward()
    adam.step()
    state = adam.state_dict()
    other = FlatAdam(nn.Linear(3, 2).parameters(), lr=0.5)
    other.load_state_dict(state)
    assert other.steps == 1 and other.param_groups[0]["lr"] == 0.1
    torch.testing.assert_close(other.exp_avg, adam.exp_avg)
    with pytest.raises(ValueError, match="holds 8 values"):
        FlatAdam(nn.Linear(4, 4).parameters(), lr=0.1).load_state_dict(state)
