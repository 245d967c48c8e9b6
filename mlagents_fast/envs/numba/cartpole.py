"""CartPole as a numba environment, with the dynamics of gymnasium's CartPole-v1.

The state is float64 (x, x_dot, theta, theta_dot), observed as float32. One discrete
branch of two actions: 0 pushes the cart left, 1 right, with 10 N for one 0.02 s Euler
step. Every step is worth 1.0, the step that ends the episode included. An episode
terminates when |x| > 2.4 or |theta| > 12 degrees and is truncated after 500 steps.
The arithmetic follows gymnasium's operation for operation, so from the same state and
actions both produce the same float32 observations; only the reset draws differ
(uniform in [-0.05, 0.05] from each copy's own stream here).
"""

from __future__ import annotations

import math
from typing import Any

from numba import njit

from mlagents_fast.envs.numba.env import NumbaEnvDefinition, NumbaVectorEnv
from mlagents_fast.envs.numba.rng import random_uniform
from mlagents_fast.spec import ActionSpec, BehaviorSpec, ObservationSpec

GRAVITY = 9.8
MASS_CART = 1.0
MASS_POLE = 0.1
TOTAL_MASS = MASS_POLE + MASS_CART
HALF_LENGTH = 0.5
POLE_MASS_LENGTH = MASS_POLE * HALF_LENGTH
FORCE = 10.0
TAU = 0.02
THETA_LIMIT = 12 * 2 * math.pi / 360  # radians, computed as gymnasium does
X_LIMIT = 2.4
MAX_STEP = 500


@njit(cache=True, nogil=True)
def cartpole_reset(state: Any, rng: Any, obs: Any) -> None:
    for k in range(4):
        state[k] = random_uniform(rng, -0.05, 0.05)
        obs[k] = state[k]


@njit(cache=True, nogil=True)
def cartpole_step(state: Any, rng: Any, continuous: Any, discrete: Any, obs: Any) -> tuple[float, bool]:
    x, x_dot, theta, theta_dot = state[0], state[1], state[2], state[3]
    force = FORCE if discrete[0] == 1 else -FORCE
    costheta = math.cos(theta)
    sintheta = math.sin(theta)
    temp = (force + POLE_MASS_LENGTH * (theta_dot * theta_dot) * sintheta) / TOTAL_MASS
    thetaacc = (GRAVITY * sintheta - costheta * temp) / (
        HALF_LENGTH * (4.0 / 3.0 - MASS_POLE * (costheta * costheta) / TOTAL_MASS)
    )
    xacc = temp - POLE_MASS_LENGTH * thetaacc * costheta / TOTAL_MASS
    state[0] = x + TAU * x_dot
    state[1] = x_dot + TAU * xacc
    state[2] = theta + TAU * theta_dot
    state[3] = theta_dot + TAU * thetaacc
    for k in range(4):
        obs[k] = state[k]
    terminated = state[0] < -X_LIMIT or state[0] > X_LIMIT or state[2] < -THETA_LIMIT or state[2] > THETA_LIMIT
    return 1.0, terminated


CARTPOLE = NumbaEnvDefinition(
    behavior_name="CartPole",
    behavior_spec=BehaviorSpec(
        (ObservationSpec.vector(4, name="cart_position_velocity_pole_angle_velocity"),),
        ActionSpec.create_discrete((2,)),
    ),
    state_size=4,
    reset=cartpole_reset,
    step=cartpole_step,
    max_step=MAX_STEP,
)


def make_numba_cartpole(num_envs: int, seed: int | None = None, num_threads: int = 1) -> NumbaVectorEnv:
    """`num_envs` CartPole copies (behavior "CartPole"), reset and ready to step."""
    env = NumbaVectorEnv(CARTPOLE, num_envs, seed=seed, num_threads=num_threads)
    env.reset()
    return env
