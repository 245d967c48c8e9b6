"""Native GAE and returns against their numpy references and ML-Agents' per-trajectory forms."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlagents_fast.ops.advantages import (
    discount_rewards,
    discount_rewards_reference,
    discounted_returns,
    discounted_returns_reference,
    gae,
    gae_reference,
    gae_trajectory,
    gae_trajectory_reference,
)


def make_rollout(signals: int, steps: int, agents: int, done_rate: float, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "rewards": rng.normal(size=(signals, steps, agents)).astype(np.float32),
        "values": rng.normal(size=(signals, steps, agents)).astype(np.float32),
        "terminated": rng.random((steps, agents)) < done_rate,
        "truncated": rng.random((steps, agents)) < done_rate,
        "bootstrap_values": rng.normal(size=(signals, agents)).astype(np.float32),
        "truncated_values": rng.normal(size=(signals, steps, agents)).astype(np.float32),
    }


@settings(max_examples=60, deadline=None)
@given(
    signals=st.integers(1, 3),
    steps=st.integers(1, 40),
    agents=st.integers(1, 33),
    done_rate=st.sampled_from([0.0, 0.1, 0.5, 1.0]),
    seed=st.integers(0, 2**31),
    lambd=st.floats(0.0, 1.0),
)
def test_gae_matches_reference(
    signals: int, steps: int, agents: int, done_rate: float, seed: int, lambd: float
) -> None:
    ro = make_rollout(signals, steps, agents, done_rate, seed)
    gammas = np.random.default_rng(seed).uniform(0.5, 1.0, size=signals).astype(np.float32)
    advantages, returns = gae(**ro, gammas=gammas, lambd=lambd)
    expected_adv, expected_ret = gae_reference(**ro, gammas=gammas, lambd=lambd)
    np.testing.assert_allclose(advantages, expected_adv, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(returns, expected_ret, rtol=1e-5, atol=1e-5)


@settings(max_examples=40, deadline=None)
@given(steps=st.integers(1, 40), agents=st.integers(1, 20), seed=st.integers(0, 2**31))
def test_discounted_returns_matches_reference(steps: int, agents: int, seed: int) -> None:
    ro = make_rollout(2, steps, agents, 0.1, seed)
    del ro["values"]
    gammas = [0.99, 0.8]
    np.testing.assert_allclose(
        discounted_returns(**ro, gammas=gammas), discounted_returns_reference(**ro, gammas=gammas), rtol=1e-5, atol=1e-5
    )


def test_single_signal_2d_form_equals_3d_form() -> None:
    ro = make_rollout(1, 30, 5, 0.1, 3)
    adv3, ret3 = gae(**ro, gammas=0.99, lambd=0.95)
    flat = {k: v[0] if v.ndim == 3 or k == "bootstrap_values" else v for k, v in ro.items()}
    adv2, ret2 = gae(**flat, gammas=0.99, lambd=0.95)
    assert adv2.shape == (30, 5)
    np.testing.assert_array_equal(adv2, adv3[0])
    np.testing.assert_array_equal(ret2, ret3[0])


def test_each_signal_uses_its_own_gamma() -> None:
    ro = make_rollout(1, 20, 4, 0.1, 5)
    stacked = {k: np.concatenate([v, v]) if k not in ("terminated", "truncated") else v for k, v in ro.items()}
    adv, _ = gae(**stacked, gammas=[0.99, 0.5], lambd=0.9)
    np.testing.assert_array_equal(adv[0], gae(**ro, gammas=0.99, lambd=0.9)[0][0])
    np.testing.assert_array_equal(adv[1], gae(**ro, gammas=0.5, lambd=0.9)[0][0])


def test_matches_ml_agents_per_trajectory_form_without_episode_ends() -> None:
    """One agent's uninterrupted rollout is ML-Agents' `get_gae` with value_next = bootstrap."""
    rng = np.random.default_rng(0)
    rewards, values = rng.normal(size=(2, 50)).astype(np.float32)
    no_flags = np.zeros((50, 1), bool)
    adv, ret = gae(rewards[:, None], values[:, None], no_flags, no_flags, np.float32([0.7]), 0.99, 0.95)
    expected = gae_trajectory_reference(rewards, values, 0.7, 0.99, 0.95)
    np.testing.assert_allclose(adv[:, 0], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gae_trajectory(rewards, values, 0.7, 0.99, 0.95), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ret[:, 0], expected + values, rtol=1e-5, atol=1e-6)


def test_discount_rewards_matches_ml_agents_loop() -> None:
    rewards = np.random.default_rng(1).normal(size=100).astype(np.float32)
    np.testing.assert_allclose(
        discount_rewards(rewards, 0.9, 2.0), discount_rewards_reference(rewards, 0.9, 2.0), rtol=1e-6, atol=1e-6
    )


def test_single_step_bootstrapping_rules() -> None:
    """T=1 with one agent per case: continuing, terminated, truncated, both."""
    rewards = np.float32([[1, 1, 1, 1]])
    values = np.float32([[0.5, 0.5, 0.5, 0.5]])
    terminated = np.array([[False, True, False, True]])
    truncated = np.array([[False, False, True, True]])
    bootstrap = np.float32([10, 10, 10, 10])
    final_values = np.float32([[20, 20, 20, 20]])
    adv, ret = gae(rewards, values, terminated, truncated, bootstrap, 0.5, 0.95, final_values)
    # continuing: bootstrap; terminated: 0; truncated: final obs value; both: terminated wins.
    np.testing.assert_allclose(adv[0], [1 + 5 - 0.5, 1 - 0.5, 1 + 10 - 0.5, 1 - 0.5])
    np.testing.assert_allclose(ret, adv + values)


def test_all_done_rollout_has_one_step_advantages() -> None:
    ro = make_rollout(1, 10, 3, 1.0, 2)
    ro["terminated"][:] = True
    adv, _ = gae(**ro, gammas=0.99, lambd=0.95)
    np.testing.assert_allclose(adv, ro["rewards"] - ro["values"], rtol=1e-6)


def test_episode_boundary_stops_the_recursion() -> None:
    rewards = np.float32([[0], [0], [1], [0]])
    values = np.zeros((4, 1), np.float32)
    terminated = np.array([[False], [True], [False], [False]])
    adv, _ = gae(rewards, values, terminated, np.zeros_like(terminated), np.float32([0]), 1.0, 1.0)
    np.testing.assert_allclose(adv[:, 0], [0, 0, 1, 0])


def test_nan_stays_inside_its_episode_and_agent() -> None:
    ro = make_rollout(1, 12, 3, 0.0, 4)
    ro["terminated"][5, 1] = True
    ro["rewards"][0, 8, 1] = np.nan
    adv, _ = gae(**ro, gammas=0.99, lambd=0.95)
    expected, _ = gae_reference(**ro, gammas=0.99, lambd=0.95)
    np.testing.assert_allclose(adv, expected, rtol=1e-5, atol=1e-5, equal_nan=True)
    nan_rows = np.flatnonzero(np.isnan(adv[0, :, 1]))
    np.testing.assert_array_equal(nan_rows, [6, 7, 8])
    assert np.isfinite(adv[0, :, [0, 2]]).all()


def test_inf_bootstrap_is_ignored_when_the_last_step_terminates() -> None:
    ro = make_rollout(1, 5, 2, 0.0, 6)
    ro["terminated"][-1] = True
    ro["bootstrap_values"][:] = np.inf
    adv, _ = gae(**ro, gammas=0.99, lambd=0.95)
    assert np.isfinite(adv).all()


def test_uint8_flags_equal_bool_flags() -> None:
    ro = make_rollout(1, 20, 4, 0.2, 7)
    expected, _ = gae(**ro, gammas=0.99, lambd=0.95)
    ro["terminated"] = ro["terminated"].astype(np.uint8)
    ro["truncated"] = ro["truncated"].astype(np.uint8)
    np.testing.assert_array_equal(gae(**ro, gammas=0.99, lambd=0.95)[0], expected)


@pytest.mark.parametrize("steps, agents, signals", [(0, 4, 1), (5, 0, 1), (0, 0, 2), (3, 2, 0)])
def test_empty_batches(steps: int, agents: int, signals: int) -> None:
    ro = make_rollout(signals, steps, agents, 0.0, 0)
    adv, ret = gae(**ro, gammas=np.full(signals, 0.99, np.float32), lambd=0.95)
    assert adv.shape == ret.shape == (signals, steps, agents)


def test_preallocated_outputs_are_written_in_place() -> None:
    ro = make_rollout(2, 16, 8, 0.1, 8)
    out_adv, out_ret = np.empty((2, 16, 8), np.float32), np.empty((2, 16, 8), np.float32)
    adv, ret = gae(**ro, gammas=0.99, lambd=0.95, advantages=out_adv, returns=out_ret)
    assert adv is out_adv and ret is out_ret
    np.testing.assert_allclose(out_adv, gae_reference(**ro, gammas=0.99, lambd=0.95)[0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "change, names",
    [
        (lambda ro: ro.update(rewards=ro["rewards"].astype(np.float64)), ["'rewards'", "float32", "float64"]),
        (lambda ro: ro.update(values=np.ascontiguousarray(ro["values"][:, :, ::-1])[:, :, ::2]), ["'values'"]),
        (lambda ro: ro.update(values=np.repeat(ro["values"], 2, axis=2)[:, :, ::2]), ["'values'", "C-contiguous"]),
        (lambda ro: ro.update(terminated=ro["terminated"][:-1]), ["'terminated'", "(T, N)"]),
        (lambda ro: ro.update(truncated=ro["truncated"].astype(np.int32)), ["'truncated'", "bool or uint8"]),
        (lambda ro: ro.update(bootstrap_values=[[0.0] * 4]), ["'bootstrap_values'", "list"]),
        (lambda ro: ro.update(truncated_values=None), ["'truncated_values'", "was not given"]),
    ],
)
def test_bad_input_names_the_argument(change, names: list[str]) -> None:  # type: ignore[no-untyped-def]
    ro = make_rollout(1, 6, 4, 0.3, 9)
    ro["truncated"][2, 1] = True
    change(ro)
    with pytest.raises(ValueError) as error:
        gae(**ro, gammas=0.99, lambd=0.95)
    for name in names:
        assert name in str(error.value)


def test_bad_discounts_and_aliasing_are_rejected() -> None:
    ro = make_rollout(1, 6, 4, 0.0, 10)
    with pytest.raises(ValueError, match=r"gammas\[0\] must lie in \[0, 1\]"):
        gae(**ro, gammas=1.5, lambd=0.95)
    with pytest.raises(ValueError, match="lambd must lie in"):
        gae(**ro, gammas=0.9, lambd=-0.1)
    with pytest.raises(ValueError, match="'returns' shares memory with input 'values'"):
        gae(**ro, gammas=0.9, lambd=0.95, returns=ro["values"])


def test_per_trajectory_forms_reject_bad_input() -> None:
    rewards = np.zeros(5, np.float32)
    with pytest.raises(ValueError, match=r"gae_trajectory\(\): argument 'values' must be .* \(T,\) = \(5,\)"):
        gae_trajectory(rewards, np.zeros(4, np.float32), 0.0, 0.99, 0.95)
    with pytest.raises(ValueError, match=r"discount_rewards\(\): argument 'rewards' must be a C-contiguous float32"):
        discount_rewards(np.zeros(5), 0.99)
    with pytest.raises(ValueError, match="not C-contiguous"):
        discount_rewards(np.zeros(10, np.float32)[::2], 0.99)


def test_single_signal_arrays_are_checked_as_t_by_n() -> None:
    ro = make_rollout(1, 6, 4, 0.2, 1)
    flat = {k: v[0] if v.ndim == 3 or k == "bootstrap_values" else v for k, v in ro.items()}
    no_values = {k: v for k, v in flat.items() if k != "values"}
    returns = discounted_returns(**no_values, gammas=0.9)
    ro_no_values = {k: v for k, v in ro.items() if k != "values"}
    np.testing.assert_array_equal(returns, discounted_returns(**ro_no_values, gammas=np.array([0.9], np.float32))[0])
    with pytest.raises(ValueError, match=r"'values' must be .*\(T, N\)"):
        gae(**{**flat, "values": ro["values"]}, gammas=0.99, lambd=0.95)
    with pytest.raises(ValueError, match=r"'bootstrap_values' must be .*\(N,\)"):
        gae(**{**flat, "bootstrap_values": ro["bootstrap_values"]}, gammas=0.99, lambd=0.95)
    with pytest.raises(ValueError, match=r"gammas\[0\] must lie in \[0, 1\]"):
        gae(**flat, gammas=1.5, lambd=0.95)
