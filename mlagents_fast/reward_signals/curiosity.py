"""Curiosity (ML-Agents' CuriosityRewardProvider, the intrinsic curiosity module).

An encoder maps observations to features; a forward model predicts the next step's features
from this step's and the action, an inverse model the action from both steps' features. The
reward is the forward model's error, 0.5 x the squared distance, at most 1 / strength, and zero
until the first update; the loss is 10 x (0.2 x forward + 0.8 x inverse), the inverse part the
mean of 0.5 x the squared error for continuous actions and the cross-entropy of each branch for
discrete ones.
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from mlagents_fast.config.trainer_settings import CuriositySettings
from mlagents_fast.networks.layers import LinearEncoder, linear
from mlagents_fast.reward_signals.base import SignalUpdateBatch
from mlagents_fast.reward_signals.fused import Kept, body_stack, processors, stack_of
from mlagents_fast.reward_signals.learned import LearnedSignal, ObservationEncoder, flat_actions, tensors
from mlagents_fast.spec import BehaviorSpec
from mlagents_fast.trainers.fused_bodies import encode

MODEL_UNITS = 256  # the forward and inverse models' hidden layer (ML-Agents')
LOG_EPSILON = 1e-10


class CuriosityNetwork(nn.Module):
    def __init__(self, spec: BehaviorSpec, settings: CuriositySettings) -> None:
        super().__init__()
        features = settings.network_settings.hidden_units
        action = spec.action_spec
        self.branches = tuple(action.discrete_branches)
        self.encoder = ObservationEncoder(spec, settings.network_settings)
        self.inverse = LinearEncoder(2 * features, 1, MODEL_UNITS)
        self.continuous_prediction = linear(MODEL_UNITS, action.continuous_size) if action.continuous_size else None
        self.discrete_prediction = linear(MODEL_UNITS, sum(self.branches)) if self.branches else None
        flat_size = action.continuous_size + sum(self.branches)
        self.forward_model = nn.Sequential(LinearEncoder(features + flat_size, 1, MODEL_UNITS),
                                           linear(MODEL_UNITS, features))  # fmt: skip

    def encode_both(self, obs: list[torch.Tensor], next_obs: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """The features of both steps' observations, in one pass of the encoder."""
        both = self.encoder([torch.cat([o, n]) for o, n in zip(obs, next_obs, strict=True)])
        return both[: len(obs[0])], both[len(obs[0]) :]

    def forward_error(self, features: torch.Tensor, next_features: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """0.5 x the squared distance between the predicted and the actual next features, per step."""
        predicted = self.forward_model(torch.cat([features, actions], dim=1))
        return 0.5 * torch.sum((predicted - next_features) ** 2, dim=1)


class CuriositySignal(LearnedSignal):
    name = "curiosity"
    stat_name = "Curiosity"

    def __init__(self, settings: CuriositySettings, spec: BehaviorSpec) -> None:
        super().__init__(settings, spec, settings.learning_rate)
        network = CuriosityNetwork(spec, settings)
        self._finish(network, [network.encoder])
        self.curiosity = network
        heads = [h for h in (network.continuous_prediction, network.discrete_prediction) if h is not None]
        encoder = body_stack(network.encoder.network_body)
        forward_model = stack_of(network.forward_model[0], [network.forward_model[1]])
        inverse = stack_of(network.inverse, heads)
        fusable = encoder is not None and forward_model is not None and inverse is not None
        self._stacks = (encoder, forward_model, inverse) if fusable else None

    def rewards(self, batch: SignalUpdateBatch) -> NDArray[np.float32]:
        if self.updates == 0:  # as ML-Agents: nothing is paid before the first update
            return np.zeros(len(batch), np.float32)
        assert batch.next_obs is not None
        net = self.curiosity
        features, next_features = net.encode_both(tensors(batch.obs, self.device), tensors(batch.next_obs, self.device))
        error = net.forward_error(features, next_features, flat_actions(self.spec.action_spec, batch, self.device))
        rewards: NDArray[np.float32] = error.cpu().numpy().astype(np.float32)
        if self.strength > 0.0:  # (at strength 0 nothing is paid: no cap to apply)
            np.minimum(rewards, np.float32(1.0 / self.strength), out=rewards)
        return rewards

    def losses(self, batch: SignalUpdateBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        assert batch.next_obs is not None
        self.learn_statistics(batch.obs)
        net = self.curiosity
        features, next_features = net.encode_both(tensors(batch.obs, self.device), tensors(batch.next_obs, self.device))
        actions = flat_actions(self.spec.action_spec, batch, self.device)
        forward_loss = net.forward_error(features, next_features, actions).mean()
        hidden = net.inverse(torch.cat([features, next_features], dim=1))
        inverse_loss = torch.zeros((), dtype=torch.float32, device=self.device)
        c = self.spec.action_spec.continuous_size
        if net.continuous_prediction is not None:
            error = net.continuous_prediction(hidden) - actions[:, :c]
            inverse_loss = inverse_loss + torch.mean(0.5 * torch.sum(error**2, dim=1))
        if net.discrete_prediction is not None:
            logits = torch.split(net.discrete_prediction(hidden), list(net.branches), dim=1)
            predicted = torch.cat([torch.softmax(branch, dim=1) for branch in logits], dim=1)
            cross_entropy = torch.sum(-torch.log(predicted + LOG_EPSILON) * actions[:, c:], dim=1)
            inverse_loss = inverse_loss + torch.mean(cross_entropy)
        loss = 10.0 * (0.2 * forward_loss + 0.8 * inverse_loss)
        return loss, {"Losses/Curiosity Forward Loss": forward_loss, "Losses/Curiosity Inverse Loss": inverse_loss}

    def fused_gradients(self, batch: SignalUpdateBatch) -> dict[str, torch.Tensor] | None:
        """`losses`' gradients through the encoder, forward and inverse models by hand."""
        if self._stacks is None:
            return None
        encoder, forward_model, inverse = self._stacks
        assert encoder is not None and forward_model is not None and inverse is not None
        assert batch.next_obs is not None
        self.learn_statistics(batch.obs)
        net, rows = self.curiosity, len(batch)
        inputs = processors(net.encoder.network_body)
        both = torch.cat([encode(inputs, tensors(batch.obs, self.device)),
                          encode(inputs, tensors(batch.next_obs, self.device))])  # fmt: skip
        encoder_kept, forward_kept, inverse_kept = Kept(), Kept(), Kept()
        encoded = encoder.forward(both, encoder_kept)
        features, next_features = encoded[:rows], encoded[rows:]
        actions = flat_actions(self.spec.action_spec, batch, self.device)
        difference = forward_model.forward(torch.cat([features, actions], dim=1), forward_kept) - next_features
        forward_loss = 0.5 * torch.sum(difference * difference, dim=1).mean()
        predicted_grad = difference * (2.0 / rows)  # 10 x 0.2 x d mean(0.5 |difference|^2)
        forward_input_grad = forward_model.backward(predicted_grad, forward_kept, input_grad=True)
        assert forward_input_grad is not None
        predictions = inverse.forward(torch.cat([features, next_features], dim=1), inverse_kept)
        inverse_loss = torch.zeros((), dtype=torch.float32, device=self.device)
        grads = []
        c = self.spec.action_spec.continuous_size
        if net.continuous_prediction is not None:
            error = predictions[:, :c] - actions[:, :c]
            inverse_loss = inverse_loss + torch.mean(0.5 * torch.sum(error * error, dim=1))
            grads.append(error * (8.0 / rows))  # 10 x 0.8 x d mean(0.5 |error|^2)
        if net.discrete_prediction is not None:
            taken = torch.split(actions[:, c:], list(net.branches), dim=1)
            logits = torch.split(predictions[:, c:], list(net.branches), dim=1)
            cross_entropy = torch.zeros(rows, dtype=torch.float32, device=self.device)
            for branch, one_hot in zip(logits, taken, strict=True):
                probability = torch.softmax(branch, dim=1)
                cross_entropy -= torch.sum(torch.log(probability + LOG_EPSILON) * one_hot, dim=1)
                probability_grad = -one_hot / (probability + LOG_EPSILON) * (8.0 / rows)
                grads.append(probability * (probability_grad - torch.sum(probability * probability_grad, 1, True)))
            inverse_loss = inverse_loss + torch.mean(cross_entropy)
        inverse_input_grad = inverse.backward(torch.cat(grads, dim=1), inverse_kept, input_grad=True)
        assert inverse_input_grad is not None
        size = features.shape[1]
        features_grad = forward_input_grad[:, :size] + inverse_input_grad[:, :size]
        next_features_grad = inverse_input_grad[:, size:] - predicted_grad
        encoder.backward(torch.cat([features_grad, next_features_grad]), encoder_kept, input_grad=False)
        return {"Losses/Curiosity Forward Loss": forward_loss, "Losses/Curiosity Inverse Loss": inverse_loss}
