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
from mlagents_fast.networks.layers import linear
from mlagents_fast.reward_signals.base import SignalUpdateBatch
from mlagents_fast.reward_signals.expert import load_expert
from mlagents_fast.reward_signals.learned import LearnedSignal, flat_actions, tensors
from mlagents_fast.spec import BehaviorSpec

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
        inputs = []
        for policy, expert in zip(policy_obs, expert_obs, strict=True):
            mix = torch.rand(policy.shape, device=policy.device)
            inputs.append((mix * policy + (1 - mix) * expert).requires_grad_(True))
        actions = None
        if policy_actions is not None and expert_actions is not None:
            mix = torch.rand(policy_actions.shape, device=policy_actions.device)
            actions = (mix * policy_actions + (1 - mix) * expert_actions).requires_grad_(True)
        d, _ = self.discriminator.estimate(inputs, actions, noise=True)
        (gradient,) = torch.autograd.grad(d.sum(), inputs[0], create_graph=True)
        norm = (torch.sum(gradient**2, dim=1) + EPSILON).sqrt()  # over dim 1, as ML-Agents (per pixel for a camera)
        return torch.mean((norm - 1) ** 2)
