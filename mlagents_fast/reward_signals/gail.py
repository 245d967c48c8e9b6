"""GAIL and VAIL (ML-Agents' GAILRewardProvider and its DiscriminatorNetwork).

A discriminator learns to tell the policy's steps from a demonstration's: its estimate D is
the probability that a step is the expert's. The reward is -log(1 - D) (with D scaled by
1 - 1e-7). Its loss is -[log D(expert) + log(1 - D(policy))], plus 10 x a gradient penalty
(the estimate's gradient norm at points between policy and expert inputs, kept near 1), and
with `use_vail` the variational bottleneck: the encoding goes through a 128-wide Gaussian whose
KL divergence is held near 0.5 by the weight beta, which follows the KL (step 0.0005, from 0).
With `use_actions` the discriminator also sees the actions and whether the episode ended.
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from mlagents_fast.config.trainer_settings import GAILSettings
from mlagents_fast.networks.actor_critic import NetworkBody
from mlagents_fast.networks.encoders import VectorInput
from mlagents_fast.networks.layers import linear
from mlagents_fast.reward_signals.base import SignalUpdateBatch
from mlagents_fast.reward_signals.expert import load_expert
from mlagents_fast.reward_signals.fused import Kept, SwishStack, body_stack, input_slope, processors
from mlagents_fast.reward_signals.learned import LearnedSignal, flat_actions, tensors
from mlagents_fast.spec import BehaviorSpec
from mlagents_fast.trainers.fused_bodies import encode

GRADIENT_PENALTY_WEIGHT = 10.0
Z_SIZE = 128
BETA_STEP = 0.0005
MUTUAL_INFORMATION = 0.5
EPSILON = 1e-7


class Discriminator(nn.Module):
    def __init__(self, spec: BehaviorSpec, settings: GAILSettings) -> None:
        super().__init__()
        network = settings.network_settings
        self.use_actions, self.use_vail = settings.use_actions, settings.use_vail
        action = spec.action_spec
        extra = action.continuous_size + sum(action.discrete_branches) + 1 if settings.use_actions else 0
        self.network_body = NetworkBody(spec, network.normalize, network.hidden_units, network.num_layers,
                                        network.vis_encode_type, network.goal_conditioning_type,
                                        action_inputs=extra)  # fmt: skip
        size = network.hidden_units
        if settings.use_vail:
            self.z_sigma = nn.Parameter(torch.ones(Z_SIZE))
            self.z_mu = linear(size, Z_SIZE, gain=0.1)
            self.beta = nn.Parameter(torch.tensor(0.0), requires_grad=False)
            size = Z_SIZE
        self.estimator = nn.Sequential(linear(size, 1, gain=0.2), nn.Sigmoid())

    def estimate(self, obs: list[torch.Tensor], actions: torch.Tensor | None,
                 noise: bool) -> tuple[torch.Tensor, torch.Tensor | None]:  # fmt: skip
        """D [B] of the steps, and VAIL's mean encoding (None without VAIL)."""
        hidden = self.network_body(obs, actions)
        mu = None
        if self.use_vail:
            mu = self.z_mu(hidden)
            hidden = mu + torch.randn_like(mu) * self.z_sigma * float(noise)
        return self.estimator(hidden).squeeze(1), mu


class GAILSignal(LearnedSignal):
    name = "gail"
    stat_name = "Gail"

    def __init__(self, settings: GAILSettings, spec: BehaviorSpec) -> None:
        super().__init__(settings, spec, settings.learning_rate)
        self.expert = load_expert(settings.demo_path, spec, "reward_signals.gail.demo_path")
        self.discriminator = Discriminator(spec, settings)
        self._finish(self.discriminator, [self.discriminator])
        self._stack = None
        if not settings.use_vail:
            self._stack = body_stack(self.discriminator.network_body, True, [self.discriminator.estimator[0]])
        self._draws = np.random.default_rng(int(torch.randint(2**31 - 1, ()).item()))

    def action_inputs(self, batch: SignalUpdateBatch) -> torch.Tensor | None:
        """The actions and the end-of-episode flag, when the discriminator sees them."""
        if not self.discriminator.use_actions:
            return None
        assert batch.done is not None
        done = torch.from_numpy(np.asarray(batch.done, np.float32)).to(self.device).unsqueeze(1)
        return torch.cat([flat_actions(self.spec.action_spec, batch, self.device), done], dim=1)

    def rewards(self, batch: SignalUpdateBatch) -> NDArray[np.float32]:
        d, _ = self.discriminator.estimate(tensors(batch.obs, self.device), self.action_inputs(batch), noise=False)
        rewards: NDArray[np.float32] = (-torch.log(1.0 - d * (1.0 - EPSILON))).cpu().numpy().astype(np.float32)
        return rewards

    def expert_batch(self, count: int) -> SignalUpdateBatch:
        """`count` demonstration steps drawn uniformly (with replacement when the demo is shorter)."""
        size = len(self.expert)
        index = self._draws.choice(size, count, replace=count > size)
        return self.expert.select(index)

    def mixes(self, policy_obs: list[torch.Tensor],
              policy_actions: torch.Tensor | None) -> tuple[list[torch.Tensor], torch.Tensor | None]:  # fmt: skip
        """The weights of the points between policy and expert inputs that the penalty looks at."""
        mixes = [torch.rand(policy.shape, device=policy.device) for policy in policy_obs]
        if policy_actions is None:
            return mixes, None
        return mixes, torch.rand(policy_actions.shape, device=policy_actions.device)

    def losses(self, batch: SignalUpdateBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        net = self.discriminator
        expert = self.expert_batch(len(batch))
        self.learn_statistics(expert.obs)  # the expert's, as ML-Agents normalizes
        policy_obs, expert_obs = tensors(batch.obs, self.device), tensors(expert.obs, self.device)
        policy_actions, expert_actions = self.action_inputs(batch), self.action_inputs(expert)
        policy_d, policy_mu = net.estimate(policy_obs, policy_actions, noise=True)
        expert_d, expert_mu = net.estimate(expert_obs, expert_actions, noise=True)
        loss = -(torch.log(expert_d + EPSILON) + torch.log(1.0 - policy_d + EPSILON)).mean()
        stats = {"Policy/GAIL Policy Estimate": policy_d.mean(), "Policy/GAIL Expert Estimate": expert_d.mean(),
                 "Losses/GAIL Loss": loss}  # fmt: skip
        total = loss
        if net.use_vail:
            assert policy_mu is not None and expert_mu is not None
            variance = net.z_sigma**2
            kl = torch.mean(-torch.sum(1 + variance.log() - 0.5 * expert_mu**2 - 0.5 * policy_mu**2 - variance, dim=1))
            total = total + net.beta.detach().clone() * (kl - MUTUAL_INFORMATION)  # (beta before its step)
            with torch.no_grad():
                net.beta.copy_(torch.clamp(net.beta + BETA_STEP * (kl - MUTUAL_INFORMATION), min=0.0))
            stats |= {"Policy/GAIL Beta": net.beta.detach().clone(), "Losses/GAIL KL Loss": kl}
        penalty = GRADIENT_PENALTY_WEIGHT * self.gradient_magnitude(policy_obs, expert_obs, policy_actions,
                                                                    expert_actions)  # fmt: skip
        stats["Policy/GAIL Grad Mag Loss"] = penalty
        return total + penalty, stats

    def gradient_magnitude(self, policy_obs: list[torch.Tensor], expert_obs: list[torch.Tensor],
                           policy_actions: torch.Tensor | None,
                           expert_actions: torch.Tensor | None) -> torch.Tensor:  # fmt: skip
        """The mean of (|grad D| - 1)^2 at random points between the policy's and the expert's inputs
        (the gradient with respect to the first observation, as ML-Agents takes it)."""
        mixes, action_mix = self.mixes(policy_obs, policy_actions)
        inputs = [(mix * policy + (1 - mix) * expert).requires_grad_(True)
                  for mix, policy, expert in zip(mixes, policy_obs, expert_obs, strict=True)]  # fmt: skip
        actions = None
        if policy_actions is not None and expert_actions is not None and action_mix is not None:
            actions = (action_mix * policy_actions + (1 - action_mix) * expert_actions).requires_grad_(True)
        d, _ = self.discriminator.estimate(inputs, actions, noise=True)
        (gradient,) = torch.autograd.grad(d.sum(), inputs[0], create_graph=True)
        norm = (torch.sum(gradient**2, dim=1) + EPSILON).sqrt()  # over dim 1, as ML-Agents (per pixel for a camera)
        return torch.mean((norm - 1) ** 2)

    def fused_gradients(self, batch: SignalUpdateBatch) -> dict[str, torch.Tensor] | None:
        """`losses`' gradients by hand (without VAIL): one forward over the policy's, the expert's
        and the mixed steps; the penalty's gradient of a gradient written out layer by layer."""
        if self._stack is None:
            return None
        stack, rows = self._stack, len(batch)
        expert = self.expert_batch(rows)
        self.learn_statistics(expert.obs)
        policy_obs, expert_obs = tensors(batch.obs, self.device), tensors(expert.obs, self.device)
        policy_actions, expert_actions = self.action_inputs(batch), self.action_inputs(expert)
        mixes, action_mix = self.mixes(policy_obs, policy_actions)
        mixed_obs = [mix * policy + (1 - mix) * expert
                     for mix, policy, expert in zip(mixes, policy_obs, expert_obs, strict=True)]  # fmt: skip
        mixed_actions = None
        if policy_actions is not None and expert_actions is not None and action_mix is not None:
            mixed_actions = action_mix * policy_actions + (1 - action_mix) * expert_actions
        inputs = processors(self.discriminator.network_body)

        def encoded(obs: list[torch.Tensor], actions: torch.Tensor | None) -> torch.Tensor:
            x = encode(inputs, obs)
            return x if actions is None else torch.cat([x, actions], dim=1)

        kept = Kept()
        x = torch.cat([encoded(policy_obs, policy_actions), encoded(expert_obs, expert_actions),
                       encoded(mixed_obs, mixed_actions)])  # fmt: skip
        d = torch.sigmoid(stack.forward(x, kept).squeeze(1))
        policy_d, expert_d, mixed_d = d[:rows], d[rows : 2 * rows], d[2 * rows :]
        loss = -(torch.log(expert_d + EPSILON) + torch.log(1.0 - policy_d + EPSILON)).mean()
        slope = d * (1.0 - d)  # d D / d u, u the estimator's input to the sigmoid
        estimate_grad = torch.cat([slope[:rows] / (1.0 - policy_d + EPSILON),
                                   -slope[rows : 2 * rows] / (expert_d + EPSILON)]) / rows  # fmt: skip
        penalty, mixed_grad, second_order = self.penalty_gradients(stack, kept, mixed_obs[0], mixed_d, inputs[0])
        stack.backward(torch.cat([estimate_grad, mixed_grad]).unsqueeze(1), kept, input_grad=False,
                       extra=(slice(2 * rows, None), second_order))  # fmt: skip
        return {"Policy/GAIL Policy Estimate": policy_d.mean(), "Policy/GAIL Expert Estimate": expert_d.mean(),
                "Losses/GAIL Loss": loss, "Policy/GAIL Grad Mag Loss": penalty}  # fmt: skip

    @staticmethod
    def penalty_gradients(
        stack: SwishStack, kept: Kept, first_obs: torch.Tensor, d: torch.Tensor, first_input: VectorInput
    ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """10 x mean((|d D / d x| - 1)^2) on the mixed rows (the last len(d) of the forward kept),
        x the first observation: the penalty; it adds the parameters' gradients that come through
        the input gradient's own weights, and returns d penalty / d u of each row and d penalty /
        d z of each layer (on those rows) for the ordinary backward to carry down.

        The input gradient runs back through the layers: a_last = swish'(z_last) * w_out,
        a_k = swish'(z_k) * (a_k+1 W_k+1), g = a_0 W_0, d D / d x = D (1 - D) g[:, obs] x the
        normalizer's slope."""
        rows, count = len(d), len(stack.layers)
        mixed = slice(len(kept.inputs[0]) - rows, None)
        slopes = [kept.swish_slope(k)[mixed] for k in range(count)]
        out_weight = stack.heads[0].weight  # [1, H]
        carried: list[torch.Tensor] = [out_weight.expand(rows, -1)] * count  # c_k: what a_k multiplies
        tangents: list[torch.Tensor] = [slopes[-1] * out_weight]  # a_k, from the last layer down
        for k in reversed(range(count - 1)):
            carried[k] = tangents[0] @ stack.layers[k + 1].weight
            tangents.insert(0, slopes[k] * carried[k])
        size = first_obs.shape[1]
        input_grad = tangents[0] @ stack.layers[0].weight  # d u / d (encoded inputs)
        g = input_grad[:, :size]
        obs_slope = input_slope(first_input, first_obs)
        v = g if obs_slope is None else g * obs_slope
        q = (d * (1.0 - d)).unsqueeze(1)
        gradient = q * v
        norm = torch.sqrt(torch.sum(gradient * gradient, dim=1) + EPSILON)
        penalty = GRADIENT_PENALTY_WEIGHT * torch.mean((norm - 1.0) ** 2)
        gradient_grad = (GRADIENT_PENALTY_WEIGHT * 2.0 / rows) * ((norm - 1.0) / norm).unsqueeze(1) * gradient
        q_grad = torch.sum(gradient_grad * v, dim=1)
        v_grad = q * gradient_grad
        g_grad = torch.zeros_like(input_grad)
        g_grad[:, :size] = v_grad if obs_slope is None else v_grad * obs_slope
        mixed_grad = q_grad * (d * (1.0 - d) * (1.0 - 2.0 * d))  # d q / d u = q (1 - 2 D)
        first = stack.layers[0]
        assert first.weight.grad is not None
        first.weight.grad.addmm_(tangents[0].t(), g_grad)
        tangent_grad = g_grad @ first.weight.t()
        second_order = []
        for k in range(count):
            curvature = kept.swish_curvature(k)[mixed]
            second_order.append(curvature * carried[k] * tangent_grad)
            carried_grad = slopes[k] * tangent_grad
            if k + 1 < count:
                following = stack.layers[k + 1].weight
                assert following.grad is not None
                following.grad.addmm_(tangents[k + 1].t(), carried_grad)
                tangent_grad = carried_grad @ following.t()
            else:
                assert out_weight.grad is not None
                out_weight.grad.add_(carried_grad.sum(0, keepdim=True))
        return penalty, mixed_grad, second_order
