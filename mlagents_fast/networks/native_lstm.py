"""The LSTM of `LSTMMemory` on the CPU: the recurrence forward and backward as one native call
each (`_native.lstm_forward` / `lstm_backward`) over a whole batch of sequences, and the
products that do not depend on the previous step (the input's projection, the weight
gradients) as one matrix product each over every step at once.

torch's CPU LSTM runs every time step as separate kernels, forward and back, so a 64-step
sequence costs 64 times their per-call overhead; here it costs one call. The values and
gradients are torch's LSTM's (the tests hold them to it), with torch's gate order.

`forward` / `backward` are the plain pieces (the fused PPO step calls them directly);
`NativeLSTMFunction` wraps them for autograd.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import torch
from torch import nn

from mlagents_fast import _native


def usable(encoding: torch.Tensor) -> bool:
    """Whether the native recurrence can run on `encoding`: float32 on the CPU, outside an ONNX
    export (which needs torch's own LSTM operator in the graph)."""
    if encoding.device.type != "cpu" or encoding.dtype != torch.float32:
        return False
    return not torch.onnx.is_in_onnx_export()


@dataclass
class LstmPass:
    """What a forward over N sequences of T steps keeps for its backward."""

    x: torch.Tensor  # [N * T, I], the inputs
    h0: torch.Tensor  # [N, H]
    c0: torch.Tensor  # [N, H]
    hidden: torch.Tensor  # [N, T, H], the outputs h_t
    cell: torch.Tensor  # [N, T, H], c_t
    gates: torch.Tensor  # [N, T, 4H], i, f, g, o after their activations


def weights(module: nn.LSTM) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(W_ih, W_hh, b_ih, b_hh) of a one-layer LSTM."""
    found = (module.weight_ih_l0, module.weight_hh_l0, module.bias_ih_l0, module.bias_hh_l0)
    return cast(tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], found)


def forward(x: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor, module: nn.LSTM) -> LstmPass:
    """`module` (one layer) over `x` [N * T, I] (N sequences of T steps, each in time order) from
    (h0, c0) [N, H]."""
    return _forward(x, h0, c0, *weights(module))


def _forward(x: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor, w_ih: torch.Tensor, w_hh: torch.Tensor,
             b_ih: torch.Tensor, b_hh: torch.Tensor) -> LstmPass:  # fmt: skip
    n, hidden_size = h0.shape
    t = x.shape[0] // n
    x = x.detach().contiguous()
    h0, c0 = h0.detach().contiguous(), c0.detach().contiguous()
    input_gates = torch.addmm(b_ih.detach() + b_hh.detach(), x, w_ih.detach().t())
    kept = LstmPass(x, h0, c0, torch.empty(n, t, hidden_size), torch.empty(n, t, hidden_size),
                    torch.empty(n, t, 4 * hidden_size))  # fmt: skip
    w_hh_t = w_hh.detach().t().contiguous()
    _native.lstm_forward(input_gates.view(n, t, 4 * hidden_size).numpy(), w_hh_t.numpy(), h0.numpy(), c0.numpy(),
                         kept.hidden.numpy(), kept.cell.numpy(), kept.gates.numpy())  # fmt: skip
    return kept


def backward(
    kept: LstmPass, module: nn.LSTM, grad_hidden: torch.Tensor,
    grad_h_last: torch.Tensor | None = None, grad_c_last: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    """From d loss / d outputs [N, T, H] (and the final state's): (d loss / d gate pre-activations
    [N * T, 4H], the same for both biases; d loss / d h0; d loss / d c0)."""
    return _backward(kept, weights(module)[1], grad_hidden, grad_h_last, grad_c_last)


def _backward(
    kept: LstmPass, w_hh: torch.Tensor, grad_hidden: torch.Tensor,
    grad_h_last: torch.Tensor | None = None, grad_c_last: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    n, t, hidden_size = kept.hidden.shape
    grad_gates = torch.empty(n * t, 4 * hidden_size)
    grad_h0, grad_c0 = torch.empty(n, hidden_size), torch.empty(n, hidden_size)
    _native.lstm_backward(
        w_hh.detach().contiguous().numpy(), kept.c0.numpy(), kept.cell.numpy(), kept.gates.numpy(),
        grad_hidden.contiguous().numpy(),
        None if grad_h_last is None else grad_h_last.contiguous().numpy(),
        None if grad_c_last is None else grad_c_last.contiguous().numpy(),
        grad_gates.view(n, t, 4 * hidden_size).numpy(), grad_h0.numpy(), grad_c0.numpy(),
    )  # fmt: skip
    return grad_gates, grad_h0, grad_c0


def previous_states(kept: LstmPass) -> torch.Tensor:
    """[N * T, H]: the state each step's gates read, h0 then every output but the last."""
    n, t, hidden_size = kept.hidden.shape
    return torch.cat([kept.h0.unsqueeze(1), kept.hidden[:, :-1]], dim=1).reshape(n * t, hidden_size)


def write_weight_gradients(kept: LstmPass, grad_gates: torch.Tensor, module: nn.LSTM) -> None:
    """Write (overwrite) `module`'s parameter gradients from d loss / d gate pre-activations."""
    w_ih, w_hh, b_ih, b_hh = (p.grad for p in weights(module))
    assert w_ih is not None and w_hh is not None and b_ih is not None and b_hh is not None
    torch.mm(grad_gates.t(), kept.x, out=w_ih)
    torch.mm(grad_gates.t(), previous_states(kept), out=w_hh)
    torch.sum(grad_gates, dim=0, out=b_ih)
    b_hh.copy_(b_ih)


class NativeLSTMFunction(torch.autograd.Function):
    """(x [N, T, I], h0 [N, H], c0 [N, H], W_ih, W_hh, b_ih, b_hh) -> (outputs [N, T, H], h_T,
    c_T), one layer, batch first."""

    @staticmethod
    def forward(
        ctx: Any, x: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor, w_ih: torch.Tensor,
        w_hh: torch.Tensor, b_ih: torch.Tensor, b_hh: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
        kept = _forward(x.reshape(-1, x.shape[-1]), h0, c0, w_ih, w_hh, b_ih, b_hh)
        ctx.kept = kept
        ctx.save_for_backward(w_ih, w_hh)
        return kept.hidden, kept.hidden[:, -1].clone(), kept.cell[:, -1].clone()

    @staticmethod
    def backward(
        ctx: Any, grad_hidden: torch.Tensor | None, grad_h_last: torch.Tensor | None, grad_c_last: torch.Tensor | None
    ) -> tuple[torch.Tensor | None, ...]:
        kept: LstmPass = ctx.kept
        w_ih, w_hh = ctx.saved_tensors
        n, t, _ = kept.hidden.shape
        if grad_hidden is None:
            grad_hidden = torch.zeros_like(kept.hidden)
        dz, grad_h0, grad_c0 = _backward(kept, w_hh, grad_hidden, grad_h_last, grad_c_last)
        needs = ctx.needs_input_grad
        grad_x = torch.mm(dz, w_ih).reshape(n, t, -1) if needs[0] else None
        grad_w_ih = torch.mm(dz.t(), kept.x) if needs[3] else None
        grad_w_hh = torch.mm(dz.t(), previous_states(kept)) if needs[4] else None
        grad_bias = dz.sum(dim=0) if needs[5] or needs[6] else None
        return (grad_x, grad_h0 if needs[1] else None, grad_c0 if needs[2] else None, grad_w_ih, grad_w_hh,
                grad_bias if needs[5] else None, grad_bias if needs[6] else None)  # fmt: skip


def lstm(
    x: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor, module: nn.LSTM
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """`module` (one layer, batch first) on `x` [N, T, I] from (h0, c0) [N, H]: (outputs, h_T, c_T)."""
    out: tuple[torch.Tensor, torch.Tensor, torch.Tensor] = NativeLSTMFunction.apply(
        x, h0, c0, module.weight_ih_l0, module.weight_hh_l0, module.bias_ih_l0, module.bias_hh_l0
    )
    return out
