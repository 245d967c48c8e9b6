"""SAC's native head kernels (`sac_squash_forward`, `sac_squash_backward`, `sac_losses`)
against the plain torch reference (trainers/sac/heads.TorchHeads), and their argument checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mlagents_fast import _native
from mlagents_fast.spec import ActionSpec
from mlagents_fast.trainers.sac.heads import NativeHeads, TorchHeads
from mlagents_fast.trainers.sac.networks import SquashedActionModel


def _head_inputs(rows: int = 64, dims: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    mu = torch.randn(rows, dims, generator=generator) * 2.0
    raw = torch.randn(rows, dims, generator=generator) * 3.0
    raw[0] = torch.tensor([-25.0, 2.0, 5.0])[:dims]  # below, at and above the clamp
    mu[1] = torch.tensor([15.0, -15.0, 0.0])[:dims]  # tanh saturated; softplus past its threshold
    return mu, raw


def test_squash_matches_the_reference_and_the_actor_module() -> None:
    mu, raw = _head_inputs()
    torch.manual_seed(4)
    native = NativeHeads().squash(mu, raw, None)
    torch.manual_seed(4)
    reference = TorchHeads().squash(mu, raw, None)
    torch.testing.assert_close(native.noise, reference.noise, atol=0.0, rtol=0.0)  # the same draw
    torch.testing.assert_close(native.action, reference.action, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(native.log_prob_sums, reference.log_prob_sums, atol=1e-4, rtol=1e-5)
    # and the actor module's sampling, given the same draw
    model = SquashedActionModel(4, ActionSpec.create_continuous(3))
    model._gaussian = lambda h: (mu, torch.clamp(raw, -20.0, 2.0))  # type: ignore[method-assign]
    torch.manual_seed(4)
    out = model(torch.zeros(64, 4), torch.ones(64, 0))
    torch.testing.assert_close(out.continuous, native.action, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(out.continuous_log_probs.sum(dim=1), native.log_prob_sums, atol=1e-4, rtol=1e-5)


def test_squash_backward_matches_autograd() -> None:
    """Both implementations against autograd through the reference's forward."""
    mu, raw = _head_inputs()
    generator = torch.Generator().manual_seed(1)
    grad_action = torch.randn(64, 3, generator=generator)
    grad_log_prob = torch.tensor(0.37)
    mu_leaf, raw_leaf = mu.clone().requires_grad_(), raw.clone().requires_grad_()
    torch.manual_seed(2)
    with torch.enable_grad():
        forward = TorchHeads().squash(mu_leaf, raw_leaf, None)
        (forward.action * grad_action).sum().add(grad_log_prob * forward.log_prob_sums.sum()).backward()
    assert mu_leaf.grad is not None and raw_leaf.grad is not None
    for heads in (TorchHeads(), NativeHeads()):
        torch.manual_seed(2)
        kept = heads.squash(mu, raw, None)
        d_mu, d_raw = heads.squash_backward(kept, grad_action, grad_log_prob)
        torch.testing.assert_close(d_mu, mu_leaf.grad, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(d_raw, raw_leaf.grad, atol=1e-5, rtol=1e-4)
    assert d_raw[0, 0] == 0.0 and d_raw[0, 2] == 0.0  # clamped: no gradient


@pytest.mark.parametrize("signals", [1, 3])
def test_losses_match_the_reference(signals: int) -> None:
    rows = 32
    generator = torch.Generator().manual_seed(signals)

    def draw(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator)

    q, values, next_values, rewards = draw(2, 2 * rows, signals), draw(rows, signals), draw(rows, signals), draw(
        signals, rows)  # fmt: skip
    done = (torch.rand(rows, generator=generator) < 0.2).float()
    gammas = torch.linspace(0.9, 0.99, signals)
    log_prob_sums, alpha = draw(rows), torch.tensor([0.3])
    native = NativeHeads().losses(q, values, next_values, rewards, done, gammas, log_prob_sums, alpha, -2.0)
    reference = TorchHeads().losses(q, values, next_values, rewards, done, gammas, log_prob_sums, alpha, -2.0)
    torch.testing.assert_close(native.grad_q, reference.grad_q, atol=1e-7, rtol=1e-5)
    torch.testing.assert_close(native.grad_values, reference.grad_values, atol=1e-7, rtol=1e-5)
    assert isinstance(reference.stats, torch.Tensor) and isinstance(reference.grad_log_alpha, torch.Tensor)
    np.testing.assert_allclose(native.stats, reference.stats.numpy(), atol=1e-6, rtol=1e-5)
    assert native.grad_log_alpha == pytest.approx(float(reference.grad_log_alpha), abs=1e-6)


def test_kernels_refuse_bad_arrays() -> None:
    f32 = np.zeros
    mu, noise = f32((4, 2), np.float32), f32((4, 2), np.float32)
    action, sums = f32((4, 2), np.float32), f32(4, np.float32)
    _native.sac_squash_forward(mu, mu.copy(), noise, action, sums)  # well-formed: no error
    with pytest.raises(ValueError, match=r"'raw_log_sigma' must be .* shape \(B, C\) = \(4, 2\)"):
        _native.sac_squash_forward(mu, f32((4, 3), np.float32), noise, action, sums)
    with pytest.raises(ValueError, match="'action' shares memory with input 'mu'"):
        _native.sac_squash_forward(mu, mu.copy(), noise, mu, sums)
    with pytest.raises(ValueError, match="'noise' must be a C-contiguous float32"):
        _native.sac_squash_forward(mu, mu.copy(), noise.astype(np.float64), action, sums)
    with pytest.raises(ValueError, match=r"'grad_action' must be .* \(B, C\) = \(4, 2\)"):
        _native.sac_squash_backward(mu, mu.copy(), noise, f32((2, 4), np.float32), 0.1, action, action.copy())
    rows, signals = 4, 1
    arrays = dict(q=f32((2, 2 * rows, signals), np.float32), values=f32((rows, signals), np.float32),
                  next_values=f32((rows, signals), np.float32), rewards=f32((signals, rows), np.float32),
                  done=f32(rows, np.float32), gammas=f32(signals, np.float32), log_prob_sums=f32(rows, np.float32),
                  alpha=0.5, target_entropy=-2.0, grad_q=f32((2, 2 * rows, signals), np.float32),
                  grad_values=f32((rows, signals), np.float32))  # fmt: skip
    assert len(_native.sac_losses(**arrays)) == 5  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"'q' must be .* shape \(2, 2B, S\) = \(2, 8, 1\)"):
        _native.sac_losses(**{**arrays, "q": f32((2, rows, signals), np.float32)})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"'rewards' must be .* shape \(S, B\) = \(1, 4\)"):
        _native.sac_losses(**{**arrays, "rewards": f32((rows, 2), np.float32)})  # type: ignore[arg-type]
