"""Adam over parameters packed into one flat tensor.

Small networks make torch's optimizer mostly Python: per call it groups tensors, runs hooks
and dispatches per parameter. Here every parameter (and its gradient) is a view into one
flat buffer, so zeroing the gradients is one op and an Adam step is a handful, whatever the
number of layers. The update rule is torch.optim.Adam's (bias-corrected, eps outside the
square root, no weight decay), as ML-Agents uses.

Up to `fused_above` parameters the step is one pass over the flat buffers: on the CPU a
native kernel on one thread (15 us for SAC's 3DBall networks' 21k parameters, against 58 us
for torch's fused kernel), or, asked for explicitly elsewhere, five plain tensor ops; above
it (and by default on accelerators), torch's fused kernel runs on the same state tensors.
That kernel uses torch's threads, so where it overtakes the native pass depends on them
(measured: with one thread at about 4.5 M parameters, with two at about 130k).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from mlagents_fast import _native

FUSED_ABOVE_ONE_THREAD = 4_500_000  # parameters; measured crossovers between the two ways of stepping
FUSED_ABOVE_THREADS = 131_072


def fused_above_default(device: torch.device) -> int:
    """Parameters above which torch's fused kernel steps: on an accelerator always (one kernel
    against five), on the CPU from the measured crossover for torch's thread count."""
    if device.type != "cpu":
        return 0
    return FUSED_ABOVE_ONE_THREAD if torch.get_num_threads() == 1 else FUSED_ABOVE_THREADS


class FlatAdam:
    def __init__(
        self, parameters: Iterable[torch.nn.Parameter], lr: float, betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8, fused_above: int | None = None,
    ) -> None:  # fmt: skip
        self.params = list(parameters)
        first = self.params[0]
        total = sum(p.numel() for p in self.params)
        self.flat = torch.zeros(total, device=first.device, dtype=first.dtype)
        self.grad = torch.zeros_like(self.flat)
        offset = 0
        with torch.no_grad():
            for p in self.params:
                n = p.numel()
                self.flat[offset : offset + n].copy_(p.reshape(-1))
                p.data = self.flat[offset : offset + n].view_as(p)
                p.grad = self.grad[offset : offset + n].view_as(p)
                offset += n
        self.exp_avg = torch.zeros_like(self.flat)
        self.exp_avg_sq = torch.zeros_like(self.flat)
        self.betas, self.eps = betas, eps
        self.steps = 0
        # numpy views of the four flat buffers for the native step (CPU only).
        self._arrays: list[NDArray[np.float32]] | None = None
        if self.flat.device.type == "cpu" and self.flat.dtype == torch.float32:
            self._arrays = [t.numpy() for t in (self.flat, self.grad, self.exp_avg, self.exp_avg_sq)]
        self.param_groups: list[dict[str, Any]] = [{"lr": lr}]  # where schedules set the rate, as in torch
        self._fused: torch.optim.Adam | None = None
        if total > (fused_above_default(first.device) if fused_above is None else fused_above):
            flat_param = torch.nn.Parameter(self.flat)  # the same storage, seen as one parameter
            flat_param.grad = self.grad
            self._fused = torch.optim.Adam([flat_param], lr=lr, betas=betas, eps=eps, fused=True)
            self._fused_step = torch.zeros((), device=self.flat.device)
            self._fused.state[flat_param] = {"step": self._fused_step, "exp_avg": self.exp_avg,
                                             "exp_avg_sq": self.exp_avg_sq}  # fmt: skip

    def zero_grad(self) -> None:
        self.grad.zero_()

    def check_gradients_in_place(self) -> None:
        """Raise if autograd replaced a gradient instead of accumulating into the flat buffer."""
        start, end = self.grad.data_ptr(), self.grad.data_ptr() + self.grad.numel() * self.grad.element_size()
        for p in self.params:
            if p.grad is None or not start <= p.grad.data_ptr() < end:
                raise RuntimeError("A gradient left the flat buffer; FlatAdam cannot step these parameters.")

    def step(self) -> None:
        # No no_grad() around the whole step: it costs more than the native step itself, and only
        # the torch fallback below runs tensor ops (torch's fused Adam guards itself).
        if self._fused is not None:
            self._fused.param_groups[0]["lr"] = float(self.param_groups[0]["lr"])
            self._fused_step.fill_(self.steps)  # torch counts the step itself, from here
            self._fused.step()
            self.steps += 1
            self._mark_changed()
            return
        self.steps += 1
        beta1, beta2 = self.betas
        lr = float(self.param_groups[0]["lr"])
        if self._arrays is not None:
            flat, grad, exp_avg, exp_avg_sq = self._arrays
            _native.adam_step(flat, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, self.eps, self.steps)
        else:
            with torch.no_grad():
                self.exp_avg.lerp_(self.grad, 1.0 - beta1)
                self.exp_avg_sq.mul_(beta2).addcmul_(self.grad, self.grad, value=1.0 - beta2)
                bias1, bias2 = 1.0 - beta1**self.steps, 1.0 - beta2**self.steps
                denominator = (self.exp_avg_sq.sqrt() / math.sqrt(bias2)).add_(self.eps)
                self.flat.addcdiv_(self.exp_avg, denominator, value=-lr / bias1)
        self._mark_changed()

    def _mark_changed(self) -> None:
        """Bump every parameter's version counter, as an in-place op on it would. The step
        wrote the flat storage (through numpy, or through another tensor over it), and each
        parameter keeps its own counter since `.data` was re-pointed; autograd's saved-tensor
        checks and the caches keyed on versions (HyperNetwork's acting cache) rely on it."""
        torch.autograd.graph.increment_version(self.params)

    def state_dict(self) -> dict[str, Any]:
        return {"steps": self.steps, "exp_avg": self.exp_avg.clone(), "exp_avg_sq": self.exp_avg_sq.clone(),
                "lr": float(self.param_groups[0]["lr"])}  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state["exp_avg"].shape != self.exp_avg.shape:
            raise ValueError(
                f"The saved optimizer state holds {state['exp_avg'].numel()} values; these networks have "
                f"{self.exp_avg.numel()} parameters."
            )
        self.steps = int(state["steps"])
        self.exp_avg.copy_(state["exp_avg"])
        self.exp_avg_sq.copy_(state["exp_avg_sq"])
        self.param_groups[0]["lr"] = float(state["lr"])
