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
  log coefficient. Every gradient is written into FlatAdam's buffer, not accumulated.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mlagents_fast.networks.actions import EPSILON, LOG_2PI
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
from mlagents_fast.trainers.sac.minibatch import ReplayMinibatch
from mlagents_fast.trainers.sac.networks import LOG_2, LOG_SIGMA_MAX, LOG_SIGMA_MIN, QNetwork, SACActor


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
        assert bodies is not None and q is not None, "supports() said these networks can run fused"
        self.bodies, self.q = bodies, q
        self.target = Body(target.network_body, target_layers)
        self.target_heads = target.value_heads
        self.mu, self.log_sigma = actor.action_model.mu, actor.action_model.log_sigma
        self.value_heads = critic.value_heads
        self.log_coefficient, self.gammas, self.target_entropy = log_coefficient, gammas, target_entropy
        self.observations = sum(p.size for p in q.processors)  # Q's first inputs; the actions follow
        self._policy_rows: dict[tuple[int, int], torch.Tensor] = {}

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
        if StackedQ.create(q1, q2) is None:
            return None
        return FusedSACGradients(actor, q1, q2, critic, target, log_coefficient, gammas, target_entropy)

    def _policy_row_gradients(self, rows: int, signals: int) -> torch.Tensor:
        """d policy loss / d Q of the policy's rows, [2, B, S]: -1 / (B S) for Q1, none for Q2."""
        key = (rows, signals)
        if key not in self._policy_rows:
            grad = torch.zeros(2, rows, signals, device=self.gammas.device)
            grad[0] = -1.0 / (rows * signals)
            self._policy_rows[key] = grad
        return self._policy_rows[key]

    @torch.no_grad()
    def __call__(self, mb: ReplayMinibatch) -> torch.Tensor:
        """Write every trained parameter's gradient; return (policy, value, Q1, Q2 losses, mean V)."""
        rows, signals = mb.done.shape[0], mb.rewards.shape[0]
        # ---- forward: the actor's sampled actions and V, then Q1 and Q2, then the target's V
        kept = BodyPass()
        h_actor, h_value = self.bodies.forward(mb.obs, kept)
        mu = F.linear(h_actor, self.mu.weight, self.mu.bias)
        raw_log_sigma = F.linear(h_actor, self.log_sigma.weight, self.log_sigma.bias)
        log_sigma = torch.clamp(raw_log_sigma, LOG_SIGMA_MIN, LOG_SIGMA_MAX)
        sigma = torch.exp(log_sigma)
        noise = torch.randn_like(mu)
        unsquashed = mu + noise * sigma
        action = torch.tanh(unsquashed)
        offset = unsquashed - mu
        spread = 2.0 * sigma * sigma + EPSILON
        gaussian = -torch.square(offset) / spread - log_sigma - 0.5 * LOG_2PI
        log_probs = gaussian - 2.0 * (LOG_2 - unsquashed - F.softplus(-2.0 * unsquashed))
        values = F.linear(h_value, self.value_heads.weight, self.value_heads.bias)  # [B, S]

        x = encode(self.q.processors, mb.obs)
        q_kept = BodyPass()
        q = self.q.forward(torch.cat([torch.cat([x, mb.continuous_action], 1), torch.cat([x, action], 1)]), q_kept)
        q_taken, q_policy = q[:, :rows], q[:, rows:]  # [2, B, S] each
        next_values = F.linear(self.target.run(mb.next_obs), self.target_heads.weight, self.target_heads.bias)

        # ---- the losses (losses.py, written for [B, S] rows)
        backup = mb.rewards.t() + (1.0 - mb.done)[:, None] * self.gammas * next_values
        q_error = q_taken - backup
        alpha = self.log_coefficient.exp()
        log_prob_sums = log_probs.sum(dim=1)
        value_error = values - (torch.min(q_policy[0], q_policy[1]) - alpha * log_prob_sums[:, None])
        policy_loss = (alpha * log_prob_sums - q_policy[0].mean(dim=1)).mean()

        # ---- backward: Q1 and Q2 (their own losses; the policy loss through Q1 to the actions)
        scale = 1.0 / (rows * signals)
        dq = torch.cat([q_error * scale, self._policy_row_gradients(rows, signals)], dim=1)
        dz = self.q.backward(dq, q_kept, rows)
        d_action = torch.mm(dz[0, rows:], self.q.weights[0][0, :, self.observations :])  # [B, C]
        # the squashed Gaussian: log_probs and the action, through mu and log sigma
        d_log_prob = alpha / rows
        d_gaussian = -2.0 * offset / spread  # d gaussian / d unsquashed; -(this) / d mu directly
        d_unsquashed = d_log_prob * (d_gaussian + 2.0 * action) + d_action * (1.0 - action * action)
        d_mu = d_unsquashed - d_log_prob * d_gaussian
        d_sigma = d_unsquashed * noise + d_log_prob * 4.0 * sigma * torch.square(offset) / torch.square(spread)
        inside = (raw_log_sigma >= LOG_SIGMA_MIN) & (raw_log_sigma <= LOG_SIGMA_MAX)
        d_log_sigma = (d_sigma * sigma - d_log_prob) * inside
        assert self.mu.weight.grad is not None and self.mu.bias.grad is not None
        assert self.log_sigma.weight.grad is not None and self.log_sigma.bias.grad is not None
        torch.mm(d_mu.t(), h_actor, out=self.mu.weight.grad)
        torch.sum(d_mu, dim=0, out=self.mu.bias.grad)
        torch.mm(d_log_sigma.t(), h_actor, out=self.log_sigma.weight.grad)
        torch.sum(d_log_sigma, dim=0, out=self.log_sigma.bias.grad)
        d_h_actor = torch.addmm(torch.mm(d_mu, self.mu.weight), d_log_sigma, self.log_sigma.weight)
        # V's head, then both bodies at once
        d_values = value_error * scale
        heads = self.value_heads
        assert heads.weight.grad is not None and heads.bias.grad is not None
        torch.mm(d_values.t(), h_value, out=heads.weight.grad)
        torch.sum(d_values, dim=0, out=heads.bias.grad)
        self.bodies.backward(torch.stack([d_h_actor, torch.mm(d_values, heads.weight)]), kept)
        # the entropy coefficient moves the policy's entropy toward its target
        assert self.log_coefficient.grad is not None
        torch.mean(log_prob_sums + self.target_entropy, dim=0, keepdim=True, out=self.log_coefficient.grad).neg_()

        q_losses = 0.5 * torch.square(q_error).mean(dim=(1, 2))
        value_loss = 0.5 * torch.square(value_error).mean()
        return torch.stack([policy_loss, value_loss, q_losses[0], q_losses[1], values.mean()])
