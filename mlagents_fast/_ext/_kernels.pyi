# Types of the compiled module built from bindings/pybind/.
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

SOURCE_HASH: str
NORMALIZER_MIN_VARIANCE: float
MAX_KERNEL_THREADS: int

def kernel_threads() -> int: ...
def set_kernel_threads(threads: int) -> None: ...
def gae_chunks(signals: int, steps: int, agents: int, threads: int) -> int: ...
def gae(
    rewards: NDArray[np.float32],
    values: NDArray[np.float32],
    terminated: NDArray[np.bool_] | NDArray[np.uint8],
    truncated: NDArray[np.bool_] | NDArray[np.uint8],
    bootstrap_values: NDArray[np.float32],
    truncated_values: NDArray[np.float32] | None,
    gammas: NDArray[np.float32] | float,
    lambd: float,
    advantages: NDArray[np.float32],
    returns: NDArray[np.float32],
) -> None: ...
def discounted_returns(
    rewards: NDArray[np.float32],
    terminated: NDArray[np.bool_] | NDArray[np.uint8],
    truncated: NDArray[np.bool_] | NDArray[np.uint8],
    bootstrap_values: NDArray[np.float32],
    truncated_values: NDArray[np.float32] | None,
    gammas: NDArray[np.float32] | float,
    returns: NDArray[np.float32],
) -> None: ...
def ppo_head_loss(
    mu: NDArray[np.float32] | None,
    log_sigma: NDArray[np.float32] | None,
    continuous: NDArray[np.float32] | None,
    logits: NDArray[np.float32] | None,
    action_mask: NDArray[np.bool_] | NDArray[np.uint8] | None,
    discrete: NDArray[np.int32] | None,
    branches: Sequence[int],
    old_log_probs: NDArray[np.float32],
    advantages: NDArray[np.float32],
    values: NDArray[np.float32],
    old_values: NDArray[np.float32],
    returns: NDArray[np.float32],
    epsilon: float,
    beta: float,
    grad_mu: NDArray[np.float32] | None,
    grad_log_sigma: NDArray[np.float32] | None,
    grad_logits: NDArray[np.float32] | None,
    grad_values: NDArray[np.float32],
) -> tuple[float, float, float]: ...
def ppo_head_sample(
    mu: NDArray[np.float32] | None,
    log_sigma: NDArray[np.float32] | None,
    normals: NDArray[np.float32] | None,
    logits: NDArray[np.float32] | None,
    action_mask: NDArray[np.bool_] | NDArray[np.uint8] | None,
    uniforms: NDArray[np.float32] | None,
    branches: Sequence[int],
    deterministic: bool,
    continuous: NDArray[np.float32] | None,
    discrete: NDArray[np.int32] | None,
    log_probs: NDArray[np.float32],
    entropy: NDArray[np.float32],
) -> float: ...
def heads_backward(
    h: NDArray[np.float32],
    heads: Sequence[tuple[NDArray[np.float32], ...]],
    grad_h: NDArray[np.float32],
) -> None: ...
def wide_linear_backward(
    h: NDArray[np.float32],
    weight: NDArray[np.float32],
    grad_out: NDArray[np.float32],
    weight_grad: NDArray[np.float32],
    bias_grad: NDArray[np.float32],
    grad_h: NDArray[np.float32],
) -> None: ...
def lstm_forward(
    input_gates: NDArray[np.float32],
    w_hh_t: NDArray[np.float32],
    h0: NDArray[np.float32],
    c0: NDArray[np.float32],
    hidden: NDArray[np.float32],
    cell: NDArray[np.float32],
    gates: NDArray[np.float32],
) -> None: ...
def lstm_backward(
    w_hh: NDArray[np.float32],
    c0: NDArray[np.float32],
    cell: NDArray[np.float32],
    gates: NDArray[np.float32],
    grad_hidden: NDArray[np.float32],
    grad_h_last: NDArray[np.float32] | None,
    grad_c_last: NDArray[np.float32] | None,
    grad_gates: NDArray[np.float32],
    grad_h0: NDArray[np.float32],
    grad_c0: NDArray[np.float32],
) -> None: ...
def adam_step(
    param: NDArray[np.float32],
    grad: NDArray[np.float32],
    exp_avg: NDArray[np.float32],
    exp_avg_sq: NDArray[np.float32],
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    step: int,
) -> None: ...
def swish_backward(
    sigmoid: NDArray[np.float32],
    output: NDArray[np.float32],
    grad: NDArray[np.float32],
    bias_grad: NDArray[np.float32],
) -> None: ...
def swish_mlp_forward(
    x: NDArray[np.float32],
    mean: NDArray[np.float32] | None,
    variance: NDArray[np.float32] | None,
    clip: float,
    layers: Sequence[tuple[NDArray[np.float32], ...]],
    out: NDArray[np.float32],
) -> None: ...
def heads_forward(
    h: NDArray[np.float32],
    heads: Sequence[tuple[NDArray[np.float32], ...]],
) -> None: ...
def gae_trajectory(
    rewards: NDArray[np.float32],
    values: NDArray[np.float32],
    value_next: float,
    gamma: float,
    lambd: float,
    advantages: NDArray[np.float32],
) -> None: ...
def discount_rewards(
    rewards: NDArray[np.float32], gamma: float, value_next: float, returns: NDArray[np.float32]
) -> None: ...
def trajectory_means(values: NDArray[np.float32], closes: NDArray[np.bool_]) -> NDArray[np.float64]: ...

class RunningNormalizer:
    def __init__(self, size: int, initial_count: float, clip: float) -> None: ...
    @property
    def size(self) -> int: ...
    @property
    def count(self) -> float: ...
    @property
    def clip(self) -> float: ...
    def state(self) -> tuple[float, NDArray[np.float64], NDArray[np.float64]]: ...
    def update(self, batch: NDArray[np.float32]) -> None: ...
    def normalize(self, x: NDArray[np.float32], out: NDArray[np.float32]) -> None: ...
    def merge(self, count: float, mean: NDArray[np.float64], m2: NDArray[np.float64]) -> None: ...
    def set_state(self, count: float, mean: NDArray[np.float64], m2: NDArray[np.float64]) -> None: ...

class Rng:
    def __init__(self, seed: int) -> None: ...
    def state(self) -> list[int]: ...
    def set_state(self, state: list[int] | tuple[int, int, int, int]) -> None: ...
    def next_u64(self) -> int: ...

class GatherPlan:
    def __init__(self, sources: list[NDArray[np.generic]], destinations: list[NDArray[np.generic]]) -> None: ...
    def gather(self, indices: NDArray[np.int64]) -> None: ...
    @property
    def capacity(self) -> int: ...
    def chunks(self, count: int, threads: int) -> int: ...

class RowWriter:
    def __init__(self, destinations: list[NDArray[np.generic]]) -> None: ...
    def write(self, start: int, sources: list[NDArray[np.generic]]) -> None: ...

def shuffled_indices(rng: Rng, count: int) -> NDArray[np.int64]: ...
def sequence_indices(rng: Rng, steps: int, agents: int, seq_len: int) -> NDArray[np.int64]: ...
def uniform_indices(rng: Rng, bound: int, count: int) -> NDArray[np.int64]: ...

class NativeVecEnv:
    def __init__(self, name: str, num_envs: int, num_threads: int, options: dict[str, float]) -> None: ...
    behavior: str
    num_envs: int
    num_threads: int
    agents_per_env: int
    observation_shapes: list[list[int]]
    observation_names: list[str]
    goal_signals: list[bool]
    continuous_size: int
    discrete_branches: list[int]
    max_step: int
    decision_period: int
    parameter_names: list[str]
    teams: list[int]
    parameter_defaults: list[float]
    obs: list[NDArray[np.float32]]
    terminal_obs: list[NDArray[np.float32]]
    reward: NDArray[np.float32]
    terminated: NDArray[np.bool_]
    truncated: NDArray[np.bool_]
    action_mask: NDArray[np.bool_]
    episode_return: NDArray[np.float32]
    episode_length: NDArray[np.int32]
    group_id: NDArray[np.int32]
    group_reward: NDArray[np.float32]
    absent: NDArray[np.bool_]
    continuous_actions: NDArray[np.float32]
    discrete_actions: NDArray[np.int32]
    in_flight: int
    def reset(self, seed: int | None = None) -> None: ...
    def step(self) -> None: ...
    def send(self, env_ids: NDArray[np.int32]) -> None: ...
    def recv(self, count: int) -> NDArray[np.int32]: ...
    def set_sampler(self, name: str, kind: int, intervals: list[tuple[float, float]], seed: int) -> bool: ...

def native_env_names() -> list[str]: ...
def sac_squash_forward(
    mu: NDArray[np.float32],
    raw_log_sigma: NDArray[np.float32],
    noise: NDArray[np.float32],
    action: NDArray[np.float32],
    log_prob_sums: NDArray[np.float32],
) -> None: ...
def sac_squash_backward(
    mu: NDArray[np.float32],
    raw_log_sigma: NDArray[np.float32],
    noise: NDArray[np.float32],
    grad_action: NDArray[np.float32],
    grad_log_prob: float,
    grad_mu: NDArray[np.float32],
    grad_raw_log_sigma: NDArray[np.float32],
) -> None: ...
def sac_losses(
    q: NDArray[np.float32],
    values: NDArray[np.float32],
    next_values: NDArray[np.float32],
    rewards: NDArray[np.float32],
    done: NDArray[np.float32],
    gammas: NDArray[np.float32],
    log_prob_sums: NDArray[np.float32],
    alpha: float,
    target_entropy: float,
    grad_q: NDArray[np.float32],
    grad_values: NDArray[np.float32],
) -> tuple[float, float, float, float, float]: ...
