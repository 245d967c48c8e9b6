"""The LSTM of `LSTMMemory` on the CPU: the recurrence forward and backward as one native call
each (`_native.lstm_forward` / `lstm_backward`) over a whole batch of sequences, and the
products that do not depend on the previous step (the input's projection, the weight
gradients) as one matrix product each over every step at once.

torch's CPU LSTM runs every time step as separate kernels, forward and back, so a 64-step
sequence costs 64 times their per-call overhead; here it costs one call. The values and
gradients are torch's LSTM's (the tests hold them to it), with torch's gate order.
"""

from __future__ import annotations

from typing import Any

import torch

from mlagents_fast import _native


def usable(encoding: torch.Tensor) -> bool:
    """Whether the native recurrence can run on `encoding`: float32 on the CPU, outside an ONNX
    export (which needs torch's own LSTM operator in the graph)."""
    if encoding.device.type != "cpu" or encoding.dtype != torch.float32:
        return False
    return not torch.onnx.is_in_onnx_export()


class NativeLSTMFunction(torch.autograd.Function):
    """(x [N, T, I], h0 [N, H], c0 [N, H], W_ih, W_hh, b_ih, b_hh) -> (outputs [N, T, H], h_T,
    c_T), one layer, batch first."""

    @staticmethod
    def forward(
        ctx: Any, x: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor, w_ih: torch.Tensor,
        w_hh: torch.Tensor, b_ih: torch.Tensor, b_hh: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
        n, t, inputs = x.shape
        hidden_size = w_hh.shape[1]
        x = x.contiguous()
        h0, c0 = h0.contiguous(), c0.contiguous()
        input_gates = torch.addmm(b_ih + b_hh, x.reshape(n * t, inputs), w_ih.t()).reshape(n, t, 4 * hidden_size)
        hidden = torch.empty(n, t, hidden_size)
        cell = torch.empty(n, t, hidden_size)
        gates = torch.empty(n, t, 4 * hidden_size)
        _native.lstm_forward(input_gates.numpy(), w_hh.detach().t().contiguous().numpy(), h0.detach().numpy(),
                             c0.detach().numpy(), hidden.numpy(), cell.numpy(), gates.numpy())  # fmt: skip
        ctx.save_for_backward(x, h0, c0, w_ih, w_hh, hidden, cell, gates)
        return hidden, hidden[:, -1].clone(), cell[:, -1].clone()

    @staticmethod
    def backward(
        ctx: Any, grad_hidden: torch.Tensor | None, grad_h_last: torch.Tensor | None, grad_c_last: torch.Tensor | None
    ) -> tuple[torch.Tensor | None, ...]:
        x, h0, c0, w_ih, w_hh, hidden, cell, gates = ctx.saved_tensors
        n, t, inputs = x.shape
        hidden_size = w_hh.shape[1]
        if grad_hidden is None:
            grad_hidden = torch.zeros_like(hidden)
        grad_gates = torch.empty_like(gates)
        grad_h0 = torch.empty(n, hidden_size)
        grad_c0 = torch.empty(n, hidden_size)
        _native.lstm_backward(
            w_hh.detach().contiguous().numpy(), c0.detach().numpy(), cell.numpy(), gates.numpy(),
            grad_hidden.contiguous().numpy(),
            None if grad_h_last is None else grad_h_last.contiguous().numpy(),
            None if grad_c_last is None else grad_c_last.contiguous().numpy(),
            grad_gates.numpy(), grad_h0.numpy(), grad_c0.numpy(),
        )  # fmt: skip
        dz = grad_gates.reshape(n * t, 4 * hidden_size)
        needs = ctx.needs_input_grad
        grad_x = torch.mm(dz, w_ih).reshape(n, t, inputs) if needs[0] else None
        grad_w_ih = torch.mm(dz.t(), x.reshape(n * t, inputs)) if needs[3] else None
        grad_w_hh = None
        if needs[4]:  # each step's gates read the state before it: h0, then the outputs but the last
            previous = torch.cat([h0.detach().unsqueeze(1), hidden[:, :-1]], dim=1).reshape(n * t, hidden_size)
            grad_w_hh = torch.mm(dz.t(), previous)
        grad_bias = dz.sum(dim=0) if needs[5] or needs[6] else None
        return (grad_x, grad_h0 if needs[1] else None, grad_c0 if needs[2] else None, grad_w_ih, grad_w_hh,
                grad_bias if needs[5] else None, grad_bias if needs[6] else None)  # fmt: skip


def lstm(
    x: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor, module: torch.nn.LSTM
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """`module` (one layer, batch first) on `x` [N, T, I] from (h0, c0) [N, H]: (outputs, h_T, c_T)."""
    out: tuple[torch.Tensor, torch.Tensor, torch.Tensor] = NativeLSTMFunction.apply(
        x, h0, c0, module.weight_ih_l0, module.weight_hh_l0, module.bias_ih_l0, module.bias_hh_l0
    )
    return out
