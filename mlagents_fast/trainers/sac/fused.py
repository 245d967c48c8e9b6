"""SAC's gradients without autograd, for continuous actions and all-vector MLP networks.

The same gradients as update.py's plain path (parity-tested), in fewer and larger tensor ops,
as PPO's fused path does (at batch 64 and 64 units a torch call costs more than its arithmetic):

- the actor's and V's bodies run as one batched pair (`fused_bodies.StackedBodies`);
- Q1 and Q2, bodies and heads, run as one batched pair over 2B rows: the stored actions'
  rows, then the policy's (`StackedQ`); the target's V runs alone, without gradients;
- the backward is written out. The Q losses reach Q1 and Q2 from the stored rows only; the
  policy loss reaches the actor through Q1's policy rows, which pass their gradient down to
  the actions without adding to Q1's parameters (ML-Agents clears what the policy loss left
  there), and through the log-probabilities; the value loss reaches V; the entropy loss the
  log coefficient. Every gradient is written into FlatAdam's buffer, not accumulated;
- the element-wise work between the matrix products (the squashed Gaussian, the losses and
  their derivatives) is heads.py's: three native calls on the CPU, tensor ops elsewhere.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mlagents_fast.networks.actor_critic import Critic
from mlagents_fast.networks.encoders import VectorInput
from mlagents_fast.trainers.fused_bodies import (
    Body,
    BodyPass,
    StackedBodies,
    encode,
    linear_layers,
    side_by_side,
    swish,
    swish_backward,
)
from mlagents_fast.trainers.sac.heads import Heads, NativeHeads, TorchHeads
from mlagents_fast.trainers.sac.minibatch import ReplayMinibatch
from mlagents_fast.trainers.sac.networks import QNetwork, SACActor


def _share_statistics(networks: list[SACActor | QNetwork | Critic]) -> bool:
    """Whether every network normalizes with the same statistics tensors (or none normalizes),
    as the trainer arranges (`share_statistics`): then one encoding serves them all."""
    inputs = [[p for p in n.network_body.processors if isinstance(p, VectorInput)] for n in networks]
    if not any(p.normalize for group in inputs for p in group):
        return True

    def same(p: VectorInput, o: VectorInput) -> bool:
        return p.normalize and p.running_mean is o.running_mean and p.running_variance is o.running_variance

    first = inputs[0]
    return all(len(group) == len(first) and all(map(same, group, first)) for group in inputs)


class StackedQ:
    """Q1 and Q2 as one batched network: per layer (the heads last, without Swish) one [2, ...]
    batched product over views of the two networks' side-by-side parameters and gradients."""

    def __init__(self, weights: list[torch.Tensor], biases: list[torch.Tensor], weight_grads: list[torch.Tensor],
                 bias_grads: list[torch.Tensor], processors: list[VectorInput]) -> None:  # fmt: skip
        self.weights, self.weight_grads, self.bias_grads = weights, weight_grads, bias_grads
        self.transposed = [w.transpose(1, 2) for w in weights]
        self.bias_rows = [b.unsqueeze(1) for b in biases]  # [2, 1, out]
        self.processors = processors
        self.native = weights[0].device.type == "cpu"
        # Swish's native backward also sums every row into a bias gradient; Q's sums the stored rows.
        self._row_sums = [torch.empty_like(b) for b in biases[:-1]]

    @staticmethod
    def create(q1: QNetwork, q2: QNetwork) -> StackedQ | None:
        """None unless both are plain MLPs laid out side by side (`update.parameter_order`)."""
        first, second = linear_layers(q1.network_body, True), linear_layers(q2.network_body, True)
        if first is None or second is None or len(first) != len(second):
            return None
        views: list[list[torch.Tensor]] = [[], [], [], []]
        for a, b in zip([*first, q1.heads], [*second, q2.heads], strict=True):
            if a.weight.grad is None or a.bias.grad is None or b.weight.grad is None or b.bias.grad is None:
                return None
            for kind, pair in enumerate(((a.weight, b.weight), (a.bias, b.bias), (a.weight.grad, b.weight.grad),
                                         (a.bias.grad, b.bias.grad))):  # fmt: skip
                view = side_by_side(*pair)
                if view is None:
                    return None
                views[kind].append(view)
        processors = [p for p in q1.network_body.processors if isinstance(p, VectorInput)]
        return StackedQ(views[0], views[1], views[2], views[3], processors)

    def forward(self, x: torch.Tensor, keep: BodyPass) -> torch.Tensor:
        """Q1 and Q2 of inputs `x` [R, observations + actions] -> [2, R, S]."""
        h = x.expand(2, *x.shape)
        last = len(self.weights) - 1
        for i, (transposed, bias) in enumerate(zip(self.transposed, self.bias_rows, strict=True)):
            z = torch.baddbmm(bias, h, transposed)
            keep.inputs.append(h)
            if i == last:
                return z
            h = swish(z, keep, self.native)
        raise AssertionError("unreachable: a Q network has its heads")

    def backward(self, grad: torch.Tensor, kept: BodyPass, rows: int) -> torch.Tensor:
        """Write the parameters' gradients from the first `rows` rows of d loss / d Q [2, R, S];
        carry every row down; return d loss / d (first layer's pre-activation) [2, R, H]."""
        for i in reversed(range(len(self.weights))):
            if i < len(self.weights) - 1:
                grad = swish_backward(grad, kept, i, self.native, self._row_sums[i])
            stored = grad[:, :rows]
            torch.bmm(stored.transpose(1, 2), kept.inputs[i][:, :rows], out=self.weight_grads[i])
            torch.sum(stored, dim=1, out=self.bias_grads[i])
            if i:
                grad = torch.bmm(grad, self.weights[i])
        return grad


class FusedSACGradients:
    """The plain path's gradients (update.AutogradSACGradients) by hand; see the module doc."""

    def __init__(self, actor: SACActor, q1: QNetwork, q2: QNetwork, critic: Critic, target: Critic,
                 log_coefficient: torch.nn.Parameter, gammas: torch.Tensor, target_entropy: float) -> None:  # fmt: skip
        actor_layers, critic_layers = linear_layers(actor.network_body), linear_layers(critic.network_body)
        target_layers = linear_layers(target.network_body)
        assert actor_layers is not None and critic_layers is not None and target_layers is not None
        bodies = StackedBodies.create(Body(actor.network_body, actor_layers), Body(critic.network_body, critic_layers))
        q = StackedQ.create(q1, q2)
        assert bodies is not None and q is not None, "create() checked that these networks can run fused"
        self.bodies, self.q = bodies, q
        self.target = Body(target.network_body, target_layers)
        self.target_heads = target.value_heads
        self.mu, self.log_sigma = actor.action_model.mu, actor.action_model.log_sigma
        self.value_heads = critic.value_heads
        self.log_coefficient, self.gammas, self.target_entropy = log_coefficient, gammas, target_entropy
        self.observations = sum(p.size for p in q.processors)  # Q's first inputs; the actions follow
        self.heads: Heads = NativeHeads() if self.q.native else TorchHeads()
        self.generator: torch.Generator | None = None  # the policy's noise; torch's default if None

    @staticmethod
    def create(actor: SACActor, q1: QNetwork, q2: QNetwork, critic: Critic, target: Critic,
               log_coefficient: torch.nn.Parameter, gammas: torch.Tensor,
               target_entropy: float) -> FusedSACGradients | None:  # fmt: skip
        """The fused gradients when the networks allow them: continuous actions only, and plain
        Swish MLPs over vector observations laid out as `update.parameter_order` lays them."""
        model = actor.action_model
        if model.branches or not model.continuous_size:
            return None
        if any(linear_layers(n.network_body) is None for n in (actor, critic, target)):
            return None
        bodies = [linear_layers(n.network_body) for n in (actor, critic)]
        assert bodies[0] is not None and bodies[1] is not None
        if StackedBodies.create(Body(actor.network_body, bodies[0]), Body(critic.network_body, bodies[1])) is None:
            return None
        if StackedQ.create(q1, q2) is None or not _share_statistics([actor, q1, q2, critic, target]):
            return None
        return FusedSACGradients(actor, q1, q2, critic, target, log_coefficient, gammas, target_entropy)

    @torch.no_grad()
    def __call__(self, mb: ReplayMinibatch) -> torch.Tensor | list[float]:
        """Write every trained parameter's gradient; return (policy, value, Q1, Q2 losses)."""
        rows = mb.done.shape[0]
        # ---- forward. The five networks share their normalizer's statistics: the observations
        # and the next ones are encoded once, together.
        both = encode(self.q.processors, [torch.cat(pair) for pair in zip(mb.obs, mb.next_obs, strict=True)])
        x, x_next = both[:rows], both[rows:]
        kept = BodyPass()
        h_actor, h_value = self.bodies.forward_encoded(x, kept)
        mu = F.linear(h_actor, self.mu.weight, self.mu.bias)
        raw_log_sigma = F.linear(h_actor, self.log_sigma.weight, self.log_sigma.bias)
        policy = self.heads.squash(mu, raw_log_sigma, self.generator)
        values = F.linear(h_value, self.value_heads.weight, self.value_heads.bias)  # [B, S]
        q_kept = BodyPass()
        q_input = torch.cat([torch.cat([x, mb.continuous_action], 1), torch.cat([x, policy.action], 1)])
        q = self.q.forward(q_input, q_kept)  # [2, 2B, S]
        next_values = F.linear(self.target.run_encoded(x_next), self.target_heads.weight, self.target_heads.bias)
        alpha = self.log_coefficient.exp()
        grads = self.heads.losses(q, values, next_values, mb.rewards, mb.done, self.gammas, policy.log_prob_sums,
                                  alpha, self.target_entropy)  # fmt: skip

        # ---- backward: Q1 and Q2 (their own losses; the policy loss through Q1 to the actions)
        dz = self.q.backward(grads.grad_q, q_kept, rows)
        d_action = torch.mm(dz[0, rows:], self.q.weights[0][0, :, self.observations :])  # [B, C]
        # the squashed Gaussian: the log-probabilities (alpha / B each) and the action
        d_mu, d_log_sigma = self.heads.squash_backward(policy, d_action, alpha / rows)
        assert self.mu.weight.grad is not None and self.mu.bias.grad is not None
        assert self.log_sigma.weight.grad is not None and self.log_sigma.bias.grad is not None
        torch.mm(d_mu.t(), h_actor, out=self.mu.weight.grad)
        torch.sum(d_mu, dim=0, out=self.mu.bias.grad)
        torch.mm(d_log_sigma.t(), h_actor, out=self.log_sigma.weight.grad)
        torch.sum(d_log_sigma, dim=0, out=self.log_sigma.bias.grad)
        d_h_actor = torch.addmm(torch.mm(d_mu, self.mu.weight), d_log_sigma, self.log_sigma.weight)
        # V's head, then both bodies at once
        heads = self.value_heads
        assert heads.weight.grad is not None and heads.bias.grad is not None
        torch.mm(grads.grad_values.t(), h_value, out=heads.weight.grad)
        torch.sum(grads.grad_values, dim=0, out=heads.bias.grad)
        self.bodies.backward(torch.stack([d_h_actor, torch.mm(grads.grad_values, heads.weight)]), kept)
        # the entropy coefficient moves the policy's entropy toward its target
        assert self.log_coefficient.grad is not None
        if isinstance(grads.grad_log_alpha, float):
            self.log_coefficient.grad.fill_(grads.grad_log_alpha)
        else:
            self.log_coefficient.grad.copy_(grads.grad_log_alpha)
        return grads.stats
