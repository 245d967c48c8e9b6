"""ONNX export of a policy with ML-Agents' input and output names, for Unity's inference engine.

Inputs: `obs_0` ... `obs_{n-1}` (visual ones NCHW; variable-length ones [batch, entities,
features], read in ML-Agents' transposed layout), for discrete actions `action_masks`
[batch, sum(branches)] with 1 = allowed, and with memory `recurrent_in` [batch, 1, memory_size].
Outputs, in ML-Agents' order: `version_number` (3), `memory_size` (0 without memory), then for
continuous actions `continuous_actions` (sampled, clipped to [-3, 3] and divided by 3),
`continuous_action_output_shape`, `deterministic_continuous_actions`; for discrete actions
`discrete_actions`, `discrete_action_output_shape`, `deterministic_discrete_actions`; with
memory `recurrent_out` [batch, 1, memory_size], the memory after the step. The observation
normalizer is part of the graph (its statistics are buffers of the network).
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mlagents_fast.run._atomic import atomic_path
from mlagents_fast.spec import BehaviorSpec

MODEL_API_VERSION = 3  # ML-Agents' MLAgents2_0 model API
OPSET = 9  # as ML-Agents exports, for Barracuda and Sentis alike


class ExportablePolicy(nn.Module):
    version_number: torch.Tensor
    memory_size: torch.Tensor
    continuous_shape: torch.Tensor
    discrete_shape: torch.Tensor

    def __init__(self, actor: nn.Module, spec: BehaviorSpec) -> None:
        """`actor`: a policy network with `network_body` and an `action_model` that has
        `exported_continuous`, `branch_logits` and `deterministic_discrete` (PPO's, SAC's)."""
        super().__init__()
        self.actor = actor
        self.continuous_size = spec.action_spec.continuous_size
        self.branches = tuple(spec.action_spec.discrete_branches)
        self.register_buffer("version_number", torch.tensor([float(MODEL_API_VERSION)]))
        body_memory = getattr(actor.network_body, "memory", None)
        self.memory = int(body_memory.memory_size) if body_memory is not None else 0
        self.register_buffer("memory_size", torch.tensor([float(self.memory)]))
        self.register_buffer("continuous_shape", torch.tensor([float(self.continuous_size)]))
        # [1, branches], as ML-Agents exports it (torch.Tensor([discrete_branches]))
        self.register_buffer("discrete_shape", torch.tensor([[float(b) for b in self.branches]]))

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        obs = list(inputs)
        recurrent_in = obs.pop() if self.memory else None
        masks = obs.pop() if self.branches else torch.ones(inputs[0].shape[0], 0)
        # A variable-length observation [batch, entities, features] is read as ML-Agents' exported
        # graph reads it: transposed, then seen again as [entities, features] (the layout Unity's
        # inference engine hands it over in).
        obs = [o.transpose(2, 1).reshape(-1, o.shape[1], o.shape[2]) if o.dim() == 3 else o for o in obs]
        actor: Any = self.actor
        model = actor.action_model
        recurrent_out = None
        if recurrent_in is None:
            h = actor.network_body(obs)
        else:
            h, memories = actor.network_body.recurrent(obs, recurrent_in[:, 0, :])
            recurrent_out = memories.unsqueeze(1)
        outputs: list[torch.Tensor] = [self.version_number, self.memory_size]
        if self.continuous_size:
            sampled, deterministic = model.exported_continuous(h)
            outputs += [sampled, self.continuous_shape, deterministic]
        if self.branches:
            logits = model.branch_logits(h, masks)
            sampled_choices = [torch.multinomial(torch.softmax(branch, dim=1), 1) for branch in logits]
            outputs += [torch.cat(sampled_choices, dim=1), self.discrete_shape,
                        model.deterministic_discrete(h, masks)]  # fmt: skip
        if recurrent_out is not None:
            outputs.append(recurrent_out)
        return tuple(outputs)


def output_names(spec: BehaviorSpec, memory: bool = False) -> list[str]:
    names = ["version_number", "memory_size"]
    if spec.action_spec.continuous_size:
        names += ["continuous_actions", "continuous_action_output_shape", "deterministic_continuous_actions"]
    if spec.action_spec.discrete_branches:
        names += ["discrete_actions", "discrete_action_output_shape", "deterministic_discrete_actions"]
    return names + (["recurrent_out"] if memory else [])


def input_names(spec: BehaviorSpec, memory: bool = False) -> list[str]:
    names = [f"obs_{i}" for i in range(len(spec.observation_specs))]
    names += ["action_masks"] if spec.action_spec.discrete_branches else []
    return names + (["recurrent_in"] if memory else [])


def export_onnx(actor: nn.Module, spec: BehaviorSpec, path: Path) -> None:
    """Write the policy to `path` atomically (a temporary file in the same folder, then a rename).

    The graph is traced from a CPU copy of `actor`: the trainer's own actor keeps its device, its
    mode and its parameters (the very tensors its optimizer steps), so training goes on with them
    after a checkpoint. (Moving the actor itself would leave it on the CPU, detached from an
    optimizer that keeps stepping the accelerator's tensors.) Tracing samples actions, so it runs
    on a fork of torch's random stream: a checkpoint never changes what the run samples next."""
    policy = ExportablePolicy(copy.deepcopy(actor).cpu(), spec).eval()
    dummy: list[torch.Tensor] = [torch.zeros(1, *o.shape) for o in spec.observation_specs]
    if spec.action_spec.discrete_branches:
        dummy.append(torch.ones(1, sum(spec.action_spec.discrete_branches)))
    if policy.memory:
        dummy.append(torch.zeros(1, 1, policy.memory))
    inputs, outputs = input_names(spec, bool(policy.memory)), output_names(spec, bool(policy.memory))
    dynamic = {name: {0: "batch"} for name in inputs}
    for name in outputs:
        if name.endswith("actions") or name == "recurrent_out":
            dynamic[name] = {0: "batch"}
    with atomic_path(path) as temporary, warnings.catch_warnings(), torch.random.fork_rng(devices=[]):
        warnings.simplefilter("ignore")  # the exporter's notes about traced constants
        torch.onnx.export(
            policy, tuple(dummy), str(temporary), input_names=inputs, output_names=outputs,
            dynamic_axes=dynamic, opset_version=OPSET, dynamo=False,
        )  # fmt: skip
