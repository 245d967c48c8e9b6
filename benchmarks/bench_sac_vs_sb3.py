"""End-to-end SAC on 3DBall: our trainer against Stable-Baselines3, same hyperparameters, same environment.

    python benchmarks/bench_sac_vs_sb3.py [--repeats 3] [--warmup 1200] [--rate-steps 24000] [--solve]
                                          [--seed 1] [--json out.json]

config/sac/3DBall.yaml's settings on both sides: learning rate 3e-4 constant, batch 64, replay
buffer 200,000, tau 0.005, gamma 0.99, initial entropy coefficient 0.5 (learned, target entropy
-2: -1 per action dimension on both sides), two layers of 64 units; torch on 1 thread, CPU.
One 3DBall area, 12 agents, the native environment on both sides:

- ours: SACTrainer on make("3DBall", 1) (one copy = 12 agent slots), the act / step / record loop
  of mlagents-learn;
- SB3: SAC("MlpPolicy", net_arch [64, 64], ent_coef "auto_0.5", learning_starts 64) on the same
  native environment behind an SB3 VecEnv whose 12 environments are its 12 agent slots
  (observations, rewards, terminated | truncated as dones, "terminal_observation",
  "TimeLimit.truncated" and a Monitor-style "episode" in the infos of the slots whose episode ended).

Update ratio: ours does, as ML-Agents, as many gradient steps after each 12-agent step as keep
agent-steps / gradient steps at most steps_per_update = 10 (1 or 2 a step); SB3 trains every 5
vector steps (60 agent-steps) with 6 gradient steps: 1 per 10 agent-steps on both sides, batched
differently. Both start once 64 transitions are stored (ours: buffer_init_steps 0 and a batch of
64; SB3: learning_starts 64, before which SB3 acts uniformly at random); the warm-up covers that.

What is not the same (each side as its library builds it):
- ours normalizes observations (normalize: true, as ML-Agents) and uses Swish; SB3 does not
  normalize and uses ReLU;
- ours has ML-Agents' SAC networks: an actor, twin Q networks and a value network with a
  soft-updated target value network (5 networks, one Adam over all trained parameters); SB3 has
  an actor and twin Q networks with soft-updated target Q networks (the target from the twin
  target Qs, no value network);
- the actor's log sigma: state-dependent and clamped to [-20, 2] on both sides.

Measured, each run in a fresh process (imports, construction and warm-up not timed), repeats
interleaved ours, SB3 with the same seed:

(a) agent-steps/s over --rate-steps agent-steps after --warmup agent-steps, and the gradient
    steps each side took in those steps;
(b) our share of wall time outside the networks: this script times from outside the trainer's
    gradient steps (everything in SACStep: forward, losses, backward, the Adam step and the
    target update; not the replay sampling) and the acting forward passes in `act` (the
    trainer's `acting` callable, or forward hooks on the actor where it has none); 1 - those
    seconds / wall. (PPO's network_seconds leaves Adam's step out; this clock does not.) The
    trainer's own `network_seconds` (the same two parts) is reported beside it;
(c) with --solve, ours only: agent-steps and wall seconds until a summary_freq window (12,000
    agent-steps) whose episodes' mean return reaches 100, ML-Agents' console "Mean Reward"
    criterion; 3DBall's maximum return is 100.0 (1000 decisions x 0.1) and float sums of 0.1
    land just under it, so 100 is tested as >= 99.9, as time_to_threshold.py does. Capped at the
    config's max_steps (200,000) or --max-seconds.

No target is set; SB3 is optional: without it only our side runs, and the script says so.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import load_1min
from training_common import ROOT, machine, machine_line, median, reaches

from mlagents_fast.config.loader import load_run_options
from mlagents_fast.envs.registry import make

ENV = "3DBall"
SOLVED = 99.9  # "100": see the docstring
SB3_TRAIN_FREQ, SB3_GRADIENT_STEPS = 5, 6  # 6 gradient steps per 5 x 12 agent-steps = 1 per 10


def sb3_available() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("stable_baselines3", "gymnasium"))


def sac_settings() -> Any:
    """The behavior settings of config/sac/3DBall.yaml, strictly loaded."""
    return load_run_options(ROOT / "config" / "sac" / f"{ENV}.yaml").behaviors[ENV]


# ------------------------------------------------------------------ ours
class NetworkClock:
    """Seconds inside the trainer's gradient steps and its acting forward passes."""

    def __init__(self, trainer: Any) -> None:
        self.seconds, self.inside_update, self.started = 0.0, False, 0.0
        step = getattr(trainer, "gradient_step", None)
        actor = getattr(trainer, "actor", None)
        self.available = callable(step) and isinstance(actor, torch.nn.Module)
        if not self.available:
            return

        def timed_step(*args: Any, **kwargs: Any) -> Any:
            started, self.inside_update = time.perf_counter(), True
            try:
                return step(*args, **kwargs)
            finally:
                self.inside_update = False
                self.seconds += time.perf_counter() - started

        def before(*_: Any) -> None:
            if not self.inside_update:
                self.started = time.perf_counter()

        def after(*_: Any) -> None:
            if not self.inside_update:
                self.seconds += time.perf_counter() - self.started

        trainer.gradient_step = timed_step
        acting = getattr(trainer, "acting", None)
        if callable(acting):

            def timed_acting(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return acting(*args, **kwargs)
                finally:
                    self.seconds += time.perf_counter() - started

            trainer.acting = timed_acting
            return
        actor.register_forward_pre_hook(before)
        actor.register_forward_hook(after)


def run_ours(mode: str, seed: int, warmup: int, steps: int, max_seconds: float) -> dict[str, Any]:
    from mlagents_fast.trainers.sac import SACTrainer

    settings = sac_settings()
    started = time.perf_counter()
    env = make(ENV, 1, seed=seed)
    batch, actions = env.batch(ENV), env.actions(ENV)
    trainer = SACTrainer(ENV, env.behavior_specs[ENV], settings, env.num_agents(ENV), seed=seed)
    clock = NetworkClock(trainer)
    setup_s = time.perf_counter() - started
    returns: list[float] = []

    def one_step() -> None:
        trainer.act(batch, actions)
        env.step()
        trainer.record(batch)
        done = batch.terminated | batch.truncated
        if np.count_nonzero(done):
            returns.extend(batch.episode_return[done].tolist())

    result: dict[str, Any] = {"side": "ours", "mode": mode, "seed": seed, "agents": env.num_agents(ENV),
                              "setup_s": setup_s}  # fmt: skip
    first_native = getattr(trainer, "network_seconds", None)  # SACTrainer's own clock, where it has one
    if mode == "rate":
        while trainer.step < warmup:
            one_step()
        first_native = getattr(trainer, "network_seconds", None)
        first_step, first_gradient, first_clock = trainer.step, trainer.gradient_steps, clock.seconds
        returns.clear()
        started = time.perf_counter()
        while trainer.step < first_step + steps:
            one_step()
        wall = time.perf_counter() - started
        result["warmup_steps"] = first_step
        result["steps"] = trainer.step - first_step
        result["gradient_steps"] = trainer.gradient_steps - first_gradient
        network_s = clock.seconds - first_clock
    else:  # solve: from the first step, windows of summary_freq agent-steps
        period, limit = int(settings.summary_freq), int(settings.max_steps)
        windows: list[float | None] = []
        hit: list[float] | None = None
        next_summary = period
        started = time.perf_counter()
        while trainer.step < limit and time.perf_counter() - started < max_seconds:
            one_step()
            if trainer.step >= next_summary:
                next_summary += period
                mean = sum(returns) / len(returns) if returns else None
                windows.append(mean)
                returns.clear()
                if mean is not None and reaches(mean, SOLVED):
                    hit = [time.perf_counter() - started, trainer.step]
                    break
        wall = time.perf_counter() - started
        result["steps"], result["gradient_steps"] = trainer.step, trainer.gradient_steps
        result["solved"] = hit is not None
        result["wall_s_to_solve"], result["steps_to_solve"] = (hit[0], hit[1]) if hit else (None, None)
        result["window_means"] = windows
        network_s = clock.seconds
    result["wall_s"], result["steps_per_s"] = wall, result["steps"] / wall
    native = getattr(trainer, "network_seconds", None)
    if first_native is not None and native is not None:
        result["trainer_network_s"] = native - first_native
        result["trainer_outside_share"] = 1.0 - (native - first_native) / wall
    result["network_s"] = network_s if clock.available else None
    result["outside_share"] = 1.0 - network_s / wall if clock.available else None
    result["gradient_steps_per_agent_step"] = result["gradient_steps"] / result["steps"]
    result["episodes"] = len(returns) if mode == "rate" else None
    result["mean_return"] = float(np.mean(returns)) if mode == "rate" and returns else None
    return result


# ------------------------------------------------------------------ SB3
def sb3_vec_env(seed: int) -> Any:
    """Our native 3DBall (one area, 12 agents) as an SB3 VecEnv of 12 environments, one agent each."""
    import gymnasium
    from stable_baselines3.common.vec_env import VecEnv

    class NativeAgentsVecEnv(VecEnv):
        def __init__(self) -> None:
            self.env = make(ENV, 1, seed=seed)
            self.batch, self.actions = self.env.batch(ENV), self.env.actions(ENV)
            spec = self.env.behavior_specs[ENV]
            (obs_spec,) = spec.observation_specs
            size = spec.action_spec.continuous_size
            observation_space = gymnasium.spaces.Box(-np.inf, np.inf, obs_spec.shape, np.float32)
            action_space = gymnasium.spaces.Box(-1.0, 1.0, (size,), np.float32)
            self.render_mode = None
            super().__init__(self.env.num_agents(ENV), observation_space, action_space)
            self.started = time.perf_counter()
            self.pending: np.ndarray | None = None
            self.returns: list[float] = []  # every ended episode's return, in order

        def reset(self) -> np.ndarray:  # make() has reset the environment with the seed
            return self.batch.obs[0].copy()

        def step_async(self, actions: np.ndarray) -> None:
            self.pending = actions

        def step_wait(self) -> Any:
            assert self.pending is not None
            self.actions.continuous[...] = self.pending
            self.env.step()
            batch = self.batch
            dones = batch.terminated | batch.truncated
            infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
            for i in np.flatnonzero(dones).tolist():
                self.returns.append(float(batch.episode_return[i]))
                infos[i] = {"terminal_observation": batch.terminal_obs[0][i].copy(),
                            "TimeLimit.truncated": bool(batch.truncated[i] and not batch.terminated[i]),
                            "episode": {"r": float(batch.episode_return[i]), "l": int(batch.episode_length[i]),
                                        "t": round(time.perf_counter() - self.started, 6)}}  # fmt: skip
            return batch.obs[0].copy(), batch.reward.copy(), dones, infos

        def close(self) -> None:
            self.env.close()

        def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
            return [getattr(self, attr_name)] * len(self._get_indices(indices))

        def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
            setattr(self, attr_name, value)

        def env_method(self, method_name: str, *args: Any, indices: Any = None, **kwargs: Any) -> list[Any]:
            # Abstract in SB3's VecEnv; SB3's SAC never calls it, and the native copies have no
            # per-copy methods to call, so a call would be a bug in this adapter: say so loudly.
            raise NotImplementedError(f"env_method({method_name!r}) is not offered by the native 3DBall adapter")

        def env_is_wrapped(self, wrapper_class: Any, indices: Any = None) -> list[bool]:
            return [False] * len(self._get_indices(indices))

        def _get_indices(self, indices: Any) -> list[int]:
            if indices is None:
                return list(range(self.num_envs))
            return [indices] if isinstance(indices, int) else list(indices)

    return NativeAgentsVecEnv()


def run_sb3(mode: str, seed: int, warmup: int, steps: int, max_seconds: float) -> dict[str, Any]:
    from stable_baselines3 import SAC

    assert mode == "rate", "the time to solve is measured for ours only"
    started = time.perf_counter()
    env = sb3_vec_env(seed)
    model = SAC("MlpPolicy", env, learning_rate=3e-4, buffer_size=200_000, learning_starts=64, batch_size=64,
                tau=0.005, gamma=0.99, train_freq=(SB3_TRAIN_FREQ, "step"), gradient_steps=SB3_GRADIENT_STEPS,
                ent_coef="auto_0.5", policy_kwargs={"net_arch": [64, 64]}, device="cpu", seed=seed,
                verbose=0)  # fmt: skip
    setup_s = time.perf_counter() - started
    model.learn(total_timesteps=warmup)
    first_step, first_gradient = model.num_timesteps, model._n_updates
    seen = len(env.returns)
    started = time.perf_counter()
    model.learn(total_timesteps=steps, reset_num_timesteps=False)
    wall = time.perf_counter() - started
    taken = model.num_timesteps - first_step
    episodes = env.returns[seen:]
    return {"side": "sb3", "mode": mode, "seed": seed, "agents": env.num_envs, "setup_s": setup_s,
            "warmup_steps": first_step, "steps": taken, "gradient_steps": model._n_updates - first_gradient,
            "wall_s": wall, "steps_per_s": taken / wall, "network_s": None, "outside_share": None,
            "gradient_steps_per_agent_step": (model._n_updates - first_gradient) / taken,
            "episodes": len(episodes),
            "mean_return": float(np.mean(episodes)) if episodes else None}  # fmt: skip


def worker(side: str, mode: str, seed: int, warmup: int, steps: int, max_seconds: float) -> None:
    torch.set_num_threads(1)
    result = (run_ours if side == "ours" else run_sb3)(mode, seed, warmup, steps, max_seconds)
    result["torch_threads"] = torch.get_num_threads()
    result["load_1min_after"] = load_1min()
    print(json.dumps(result), flush=True)


# ------------------------------------------------------------------ the driver
def spawn(side: str, mode: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, __file__, "--worker", side, "--mode", mode, "--seed", str(seed),
               "--warmup", str(args.warmup), "--rate-steps", str(args.rate_steps),
               "--max-seconds", str(args.max_seconds)]  # fmt: skip
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    print(json.dumps(result), flush=True)
    return result


def summarize(results: list[dict[str, Any]], sides: list[str]) -> dict[str, Any]:
    def pick(side: str, mode: str, key: str) -> list[float]:
        return [r[key] for r in results if r["side"] == side and r["mode"] == mode and r[key] is not None]

    summary: dict[str, Any] = {}
    for side in sides:
        rates = pick(side, "rate", "steps_per_s")
        summary[side] = {
            "steps_per_s_median": median(rates), "steps_per_s_min": min(rates), "steps_per_s_max": max(rates),
            "gradient_steps_median": median(pick(side, "rate", "gradient_steps")),
            "steps_median": median(pick(side, "rate", "steps")),
            "outside_share_median": median(pick(side, "rate", "outside_share")),
        }  # fmt: skip
    solves = [r for r in results if r["side"] == "ours" and r["mode"] == "solve"]
    if solves:
        hits = [r for r in solves if r["solved"]]
        summary["ours"]["solved"] = f"{len(hits)}/{len(solves)}"
        summary["ours"]["wall_s_to_solve_median"] = median([r["wall_s_to_solve"] for r in hits])
        summary["ours"]["steps_to_solve_median"] = median([r["steps_to_solve"] for r in hits])
        summary["ours"]["solve_outside_share_median"] = median(pick("ours", "solve", "outside_share"))
    if "sb3" in summary:
        summary["rate_ratio"] = summary["ours"]["steps_per_s_median"] / summary["sb3"]["steps_per_s_median"]
    return summary


def print_summary(summary: dict[str, Any]) -> None:
    print(machine_line())
    print(f"{'side':<6} {'agent-steps/s median (min-max)':>32} {'gradient steps':>15} {'in agent-steps':>15} "
          f"{'outside networks':>17}")  # fmt: skip
    for side in ("ours", "sb3"):
        if side not in summary:
            continue
        s = summary[side]
        rate = f"{s['steps_per_s_median']:,.0f} ({s['steps_per_s_min']:,.0f}-{s['steps_per_s_max']:,.0f})"
        outside = "n/a" if np.isnan(s["outside_share_median"]) else f"{s['outside_share_median']:.0%}"
        print(f"{side:<6} {rate:>32} {s['gradient_steps_median']:>15,.0f} {s['steps_median']:>15,.0f} "
              f"{outside:>17}")  # fmt: skip
    if "rate_ratio" in summary:
        print(f"agent-steps/s ours / SB3: {summary['rate_ratio']:.2f}x")
    if "solved" in summary["ours"]:
        s = summary["ours"]
        print(f"ours to a 12,000-step window of 100: solved {s['solved']}, median {s['wall_s_to_solve_median']:.1f} s, "
              f"{s['steps_to_solve_median']:,.0f} agent-steps")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1, help="first seed; repeat i uses seed + i on both sides")
    parser.add_argument(
        "--warmup",
        type=int,
        default=1200,
        help="agent-steps before the timed ones (a multiple of 60 keeps SB3's train rounds whole)",
    )
    parser.add_argument("--rate-steps", type=int, default=24_000, help="timed agent-steps of the throughput runs")
    parser.add_argument("--solve", action="store_true", help="also time ours to a summary window of 100")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="wall cap of a --solve run")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--worker", choices=["ours", "sb3"], help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=["rate", "solve"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)  # fmt: skip
    if args.worker:
        worker(args.worker, args.mode, args.seed, args.warmup, args.rate_steps, args.max_seconds)
        return 0
    sides = ["ours", "sb3"] if sb3_available() else ["ours"]
    if "sb3" not in sides:
        print("Stable-Baselines3 is not installed: only our side runs (pip install stable-baselines3 gymnasium).")
    torch.set_num_threads(1)
    print(machine_line(), flush=True)
    results = []
    for repeat in range(args.repeats):
        for side in sides:
            results.append(spawn(side, "rate", args.seed + repeat, args))
        if args.solve:
            results.append(spawn("ours", "solve", args.seed + repeat, args))
    summary = summarize(results, sides)
    print_summary(summary)
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "summary": summary, "runs": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
