"""The native LSTM recurrence (native/include/mlaf/lstm.h through networks/native_lstm.py) against
torch's nn.LSTM, the reference: outputs, final state and every gradient, and the kernels'
argument checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mlagents_fast import _native
from mlagents_fast.networks import native_lstm
from mlagents_fast.networks.memory import LSTMMemory


def _run(memory: LSTMMemory, x: torch.Tensor, memories: torch.Tensor, steps: int, native: bool) -> list[torch.Tensor]:
    memory.native = native
    for p in [*memory.parameters(), x, memories]:
        p.grad = None
    outputs, last = memory(x, memories, steps)
    weights = torch.linspace(-1.0, 1.0, last.shape[1])
    (outputs.square().sum() + (last * weights).sum()).backward()  # the final memories' gradient too
    assert x.grad is not None and memories.grad is not None
    return [outputs.detach(), last.detach(), x.grad, memories.grad, *(p.grad.clone() for p in memory.parameters())]


SHAPES = [(1, 64, 128, 128), (3, 5, 7, 10), (6, 16, 32, 64), (2, 1, 9, 70)]


@pytest.mark.parametrize(("sequences", "steps", "inputs", "memory_size"), SHAPES)
def test_native_recurrence_matches_torch_lstm(sequences: int, steps: int, inputs: int, memory_size: int) -> None:
    torch.manual_seed(sequences * 100 + steps)
    memory = LSTMMemory(inputs, memory_size)
    x = torch.randn(sequences * steps, inputs, requires_grad=True)
    memories = (0.5 * torch.randn(sequences, memory_size)).requires_grad_()
    reference = _run(memory, x, memories, steps, native=False)
    native = _run(memory, x, memories, steps, native=True)
    names = ["outputs", "final memories", "d x", "d memories", "d W_ih", "d W_hh", "d b_ih", "d b_hh"]
    for name, ours, theirs in zip(names, native, reference, strict=True):
        scale = max(1.0, theirs.abs().max().item())
        torch.testing.assert_close(ours, theirs, rtol=0.0, atol=2e-5 * scale, msg=lambda m, n=name: f"{n}: {m}")


def test_acting_without_gradients_and_export_use_torch_lstm() -> None:
    memory = LSTMMemory(4, 8)
    x, memories = torch.randn(5, 4), torch.randn(5, 8)
    with torch.no_grad():
        memory.native = True
        ours = memory(x, memories)
        memory.native = False
        theirs = memory(x, memories)
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=0.0, atol=1e-6)
    assert native_lstm.usable(x) and not native_lstm.usable(x.double())


def test_kernel_checks_shapes_and_overlap() -> None:
    n, t, h = 2, 3, 4
    gates = np.zeros((n, t, 4 * h), np.float32)
    hidden, cell = np.zeros((n, t, h), np.float32), np.zeros((n, t, h), np.float32)
    zeros = np.zeros((n, h), np.float32)
    with pytest.raises(ValueError, match=r"lstm_forward\(\): argument 'w_hh_t' must be .*\(H, 4H\)"):
        _native.lstm_forward(gates, np.zeros((4 * h, h), np.float32), zeros, zeros, hidden, cell, gates.copy())
    with pytest.raises(ValueError, match="shares memory"):
        _native.lstm_forward(gates, np.zeros((h, 4 * h), np.float32), zeros, zeros, hidden, cell, gates)
    with pytest.raises(ValueError, match=r"lstm_backward\(\): argument 'grad_hidden'"):
        _native.lstm_backward(np.zeros((4 * h, h), np.float32), zeros, cell, gates, np.zeros((n, t + 1, h), np.float32),
                              None, None, gates.copy(), zeros.copy(), zeros.copy())  # fmt: skip
