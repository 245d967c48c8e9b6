"""The in-process and process steppers for Python environments: layout, checks, failures, cleanup."""

from __future__ import annotations

import gc
import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from mlagents_fast.envs.parameters import EnvironmentParameters
from mlagents_fast.envs.python import shm
from mlagents_fast.envs.python.auto import make_stepper, measure_step_s, prefer_processes
from mlagents_fast.envs.python.env import PythonEnv
from mlagents_fast.envs.python.inprocess import InProcessVectorEnv
from mlagents_fast.envs.python.process import ProcessVectorEnv
from mlagents_fast.envs.python.stepper import RowStepper
from mlagents_fast.envs.vector import EnvError, StepBatch
from mlagents_fast.spec import ActionError, ActionSpec, ActionTuple, BehaviorSpec, ObservationSpec

ROOT = Path(__file__).resolve().parents[2]
WALKER, EYE = "Walker", "Eye"


class CounterEnv(PythonEnv):
    """Two behaviors: 'Walker' (2 agents, hybrid actions, masks) and 'Eye' (1 agent, continuous).

    Observations come from a seeded generator, so traces depend on the seed only. Episodes
    last `episode_length` steps. `fail_at` / `nan_at` / `hang_at` make step number n misbehave.
    """

    parameter_names = ("gravity",)

    def __init__(self, config: Counter) -> None:
        self.config = config
        walker = BehaviorSpec((ObservationSpec.vector(3),), ActionSpec.create_hybrid(1, (3, 2)))
        eye = BehaviorSpec(
            (ObservationSpec.vector(2), ObservationSpec.visual(1, 2, 2)), ActionSpec.create_continuous(2)
        )
        self._specs = {WALKER: walker, EYE: eye}
        self.rng = np.random.default_rng()
        self.steps = 0
        self.gravity = 0.0

    @property
    def behavior_specs(self) -> Mapping[str, BehaviorSpec]:
        return self._specs

    @property
    def agents_per_env(self) -> Mapping[str, int]:
        return {WALKER: 2, EYE: 1}

    def _observe(self, out: Mapping[str, StepBatch]) -> None:
        out[WALKER].obs[0][:] = self.rng.random((2, 3))
        out[WALKER].obs[0][:, 0] = self.steps + self.gravity
        out[EYE].obs[0][:] = self.rng.random((1, 2))
        out[EYE].obs[1][:] = 0.5
        if self.config.mask_first_choice and out[WALKER].action_mask is not None:
            out[WALKER].action_mask[:, 0] = True

    def reset(self, out: Mapping[str, StepBatch], seed: int | None = None) -> None:
        self.rng = np.random.default_rng(seed)
        self.steps = 0
        for batch in out.values():
            batch.reward[:] = 0.0
            batch.terminated[:] = False
            batch.truncated[:] = False
        self._observe(out)

    def step(self, actions: Mapping[str, ActionTuple], out: Mapping[str, StepBatch]) -> None:
        self.steps += 1
        if self.steps == self.config.fail_at:
            raise RuntimeError(f"boom at step {self.steps}")
        if self.steps == self.config.hang_at:
            time.sleep(60)
        if self.config.busy_s:
            start = time.perf_counter()
            while time.perf_counter() - start < self.config.busy_s:
                pass
        out[WALKER].reward[:] = actions[WALKER].discrete[:, 0] + actions[WALKER].continuous[:, 0]
        out[EYE].reward[:] = actions[EYE].continuous.sum(axis=1)
        self._observe(out)
        if self.steps % self.config.episode_length == 0:
            for name, batch in out.items():
                for obs, terminal in zip(batch.obs, batch.terminal_obs, strict=True):
                    terminal[:] = obs
                batch.terminated[:] = True
                batch.episode_length[:] = self.config.episode_length
                batch.episode_return[:] = 1.0 if name == WALKER else 2.0
            self._observe(out)  # the next episode's first observation
        if self.steps == self.config.nan_at:
            out[WALKER].obs[0][1, 2] = np.nan

    def set_parameters(self, parameters: EnvironmentParameters) -> None:
        self.gravity = parameters.get_with_default("gravity", 0.0)


@dataclass(frozen=True)
class Counter:
    """A picklable factory for CounterEnv (module level, so worker processes can import it)."""

    episode_length: int = 5
    fail_at: int = -1
    nan_at: int = -1
    hang_at: int = -1
    mask_first_choice: bool = False
    busy_s: float = 0.0
    name: str = "Counter"

    def __call__(self) -> CounterEnv:
        return CounterEnv(self)


def broken_factory() -> CounterEnv:
    raise ValueError("cannot build")


KINDS = ["inprocess", "process"]
Maker = Callable[..., RowStepper]


@pytest.fixture
def make() -> Iterator[Maker]:
    """make(kind, factory, num_envs, **options): a stepper that is closed after the test."""
    made: list[RowStepper] = []

    def build(kind: str, factory: Callable[[], PythonEnv], num_envs: int, **options: object) -> RowStepper:
        env: RowStepper
        if kind == "inprocess":
            env = InProcessVectorEnv(factory, num_envs)
        else:
            options.setdefault("num_workers", 2)
            env = ProcessVectorEnv(factory, num_envs, **options)  # type: ignore[arg-type]
        made.append(env)
        return env

    yield build
    for env in made:
        env.close()


def fill_random(env: RowStepper, rng: np.random.Generator) -> None:
    for name, spec in env.behavior_specs.items():
        sample = spec.action_spec.random_action(env.num_agents(name), rng)
        actions = env.actions(name)
        actions.continuous[:] = sample.continuous
        actions.discrete[:] = sample.discrete


def trace(env: RowStepper, seed: int, steps: int) -> list[np.ndarray]:
    env.reset(seed)
    rng = np.random.default_rng(123)
    out = []
    for _ in range(steps):
        fill_random(env, rng)
        env.step()
        for name in env.behavior_specs:
            out.extend(o.copy() for o in env.batch(name).obs)
            out.append(env.batch(name).reward.copy())
    return out


def shm_exists(name: str) -> bool:
    return Path("/dev/shm", name).exists()


@pytest.mark.parametrize("kind", KINDS)
def test_copies_write_their_own_rows(make: Maker, kind: str) -> None:
    env = make(kind, Counter(), 3)
    assert env.num_agents(WALKER) == 6 and env.num_agents(EYE) == 3
    np.testing.assert_array_equal(env.batch(WALKER).agent_id, np.arange(6))
    assert env.batch(WALKER).action_mask is not None and env.batch(EYE).action_mask is None
    env.reset(7)
    walker = env.batch(WALKER)
    # Copy i is seeded with 7 + i: its rows are what a lone copy seeded so writes.
    for i in range(3):
        alone = InProcessVectorEnv(Counter(), 1)
        alone.reset(7 + i)
        np.testing.assert_array_equal(walker.obs[0][2 * i : 2 * i + 2], alone.batch(WALKER).obs[0])
        np.testing.assert_array_equal(env.batch(EYE).obs[0][i], alone.batch(EYE).obs[0][0])
    actions = env.actions(WALKER)
    actions.discrete[:, 0] = [0, 1, 2, 0, 1, 2]
    actions.continuous[:, 0] = 0.5
    env.step()
    np.testing.assert_allclose(walker.reward, [0.5, 1.5, 2.5, 0.5, 1.5, 2.5])
    assert env.batch(WALKER) is walker and env.actions(WALKER) is actions
    with pytest.raises(KeyError, match="no behavior 'Nope'"):
        env.batch("Nope")


@pytest.mark.parametrize("kind", KINDS)
def test_episode_end_auto_resets_and_flags_clear(make: Maker, kind: str) -> None:
    env = make(kind, Counter(episode_length=2), 2)
    env.reset(0)
    batch = env.batch(WALKER)
    env.step()
    assert not batch.done.any()
    before = batch.obs[0].copy()
    env.step()
    assert batch.terminated.all() and not batch.truncated.any()
    assert not np.array_equal(batch.terminal_obs[0], before)  # the final obs of step 2, not the previous one
    np.testing.assert_array_equal(batch.episode_length, 2)
    env.step()
    assert not batch.done.any()


def test_same_seed_same_trace_across_steppers(make: Maker) -> None:
    first = trace(make("inprocess", Counter(), 3), 11, 12)
    again = trace(make("inprocess", Counter(), 3), 11, 12)
    other = trace(make("inprocess", Counter(), 3), 12, 12)
    processes = trace(make("process", Counter(), 3), 11, 12)
    for a, b, c in zip(first, again, processes, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    assert any(not np.array_equal(a, b) for a, b in zip(first, other, strict=True))


@pytest.mark.parametrize("kind", KINDS)
def test_bad_actions_raise_action_error_and_leave_the_env_usable(make: Maker, kind: str) -> None:
    env = make(kind, Counter(), 2)
    env.reset(0)
    good = ActionSpec.create_hybrid(1, (3, 2)).empty_action(4)
    with pytest.raises(ActionError, match=r"'Counter'.*'Walker'.*discrete actions of shape \(4, 2\)"):
        env.set_actions(WALKER, ActionTuple(good.continuous, np.zeros((3, 2), np.int32)))
    with pytest.raises(ActionError, match=r"'Counter'.*dtype float32; got float64"):
        env.set_actions(WALKER, ActionTuple(good.continuous.astype(np.float64), good.discrete))
    env.set_actions(WALKER, good)
    actions = env.actions(WALKER)
    actions.continuous[3, 0] = np.nan
    with pytest.raises(ActionError, match=r"'Counter'.*'Walker'.*continuous actions of agent index 3"):
        env.step()
    actions.continuous[3, 0] = 0.0
    actions.discrete[2, 1] = 2
    with pytest.raises(ActionError, match=r"'Walker'.*branch 1 has 2 choices.*agent index 2 chose 2"):
        env.step()
    actions.discrete[2, 1] = -1
    with pytest.raises(ActionError, match="agent index 2 chose -1"):
        env.step()
    actions.discrete[2, 1] = 0
    env.actions(EYE).continuous[0, 1] = np.inf
    with pytest.raises(ActionError, match="'Eye'"):
        env.step()
    env.actions(EYE).continuous[0, 1] = 0.0
    env.step()  # still usable


@pytest.mark.parametrize("kind", KINDS)
def test_masked_discrete_action_raises(make: Maker, kind: str) -> None:
    env = make(kind, Counter(mask_first_choice=True), 2)
    env.reset(0)
    actions = env.actions(WALKER)
    actions.discrete[:, 0] = 1
    env.step()
    actions.discrete[3, 0] = 0
    with pytest.raises(ActionError, match=r"'Counter'.*'Walker'.*branch 0 of agent index 3 \(copy 1\) chose 0.*mask"):
        env.step()


def test_in_process_copy_that_raises_is_an_env_error(make: Maker) -> None:
    env = make("inprocess", Counter(fail_at=2), 2)
    env.reset(0)
    env.step()
    with pytest.raises(EnvError, match="'Counter', copy 0: step raised RuntimeError: boom at step 2") as error:
        env.step()
    assert isinstance(error.value.__cause__, RuntimeError)
    with pytest.raises(EnvError, match="'broken_factory', copy 0: building it raised ValueError: cannot build"):
        InProcessVectorEnv(broken_factory, 2)


def test_process_copy_that_raises_is_an_env_error_beyond_the_restart_limit(make: Maker) -> None:
    env = make("process", Counter(fail_at=2), 2, max_lifetime_restarts=0)
    env.reset(0)
    env.step()
    with pytest.raises(
        EnvError, match=r"'Counter', copy 0 .*step of copy 0 raised RuntimeError: boom at step 2"
    ) as error:
        env.step()
    assert "max_lifetime_restarts=0" in str(error.value) and "Traceback" in str(error.value)
    with pytest.raises(EnvError, match="is closed"):
        env.step()
    with pytest.raises(EnvError, match=r"(?s)copy 0: building it in worker 0 failed.*ValueError: cannot build"):
        ProcessVectorEnv(broken_factory, 2, num_workers=1)


def test_process_copy_that_raises_restarts_within_the_limits(make: Maker) -> None:
    env = make("process", Counter(fail_at=2, episode_length=100), 4, num_workers=2)
    env.reset(0)
    env.step()
    env.step()  # every copy raises at its step 2: both workers restart once (the rate limit allows one)
    batch = env.batch(WALKER)
    assert batch.truncated.all() and not batch.terminated.any()
    with pytest.raises(EnvError, match=r"(?s)boom at step 2.*restarts_rate_limit_n=1"):
        env.step()
        env.step()  # the restarted copies fail again at their step 2


@pytest.mark.parametrize("kind", KINDS)
def test_nan_observation_is_an_env_error(make: Maker, kind: str) -> None:
    env = make(kind, Counter(nan_at=3), 2)
    env.reset(0)
    env.step()
    env.step()
    with pytest.raises(EnvError, match=r"'Counter', copy 0: behavior 'Walker' wrote NaN or inf into obs\[0\]"):
        env.step()


def test_hung_worker_times_out(make: Maker) -> None:
    env = make("process", Counter(hang_at=1), 2, num_workers=1, timeout_s=0.5, max_lifetime_restarts=0)
    env.reset(0)
    start = time.monotonic()
    with pytest.raises(EnvError, match=r"did not answer within 0\.5 s"):
        env.step()
    assert time.monotonic() - start < 30  # the timeout ended the step, not the 60 s hang (loose: a busy machine)


def test_killed_worker_restarts_and_its_slots_are_truncated(make: Maker) -> None:
    env = make(
        "process", Counter(episode_length=100), 4, num_workers=2, restarts_rate_limit_n=-1, max_lifetime_restarts=1
    )
    assert isinstance(env, ProcessVectorEnv)
    name = env.shared_memory_names[0]
    env.reset(0)
    env.step()
    held = env.batch(WALKER).obs[0].copy()
    victim = env.worker_pids[1]
    os.kill(victim, signal.SIGKILL)
    env.step()
    batch = env.batch(WALKER)
    # Worker 1 runs copies 2 and 3: agents 4..7.
    np.testing.assert_array_equal(batch.truncated, [False] * 4 + [True] * 4)
    assert not batch.terminated.any()
    np.testing.assert_array_equal(batch.terminal_obs[0][4:], held[4:])
    np.testing.assert_array_equal(batch.reward[4:], 0.0)
    assert env.batch(EYE).truncated.tolist() == [False, False, True, True]
    assert victim not in env.worker_pids and shm_exists(name)
    env.step()
    assert not batch.done.any()
    os.kill(env.worker_pids[1], signal.SIGKILL)
    with pytest.raises(
        EnvError, match=r"(?s)copies 2-3 \(worker 1\): its process was killed by signal 9.*max_lifetime_restarts=1"
    ):
        env.step()
    assert not shm_exists(name)  # the error closed the env


def test_rate_limit_stops_restarts(make: Maker) -> None:
    env = make("process", Counter(), 2, num_workers=1)
    assert isinstance(env, ProcessVectorEnv)
    env.reset(0)
    os.kill(env.worker_pids[0], signal.SIGKILL)
    env.step()
    os.kill(env.worker_pids[0], signal.SIGKILL)
    with pytest.raises(EnvError, match=r"(?s)restarted 1 times in the last 60 s.*restarts_rate_limit_n=1"):
        env.step()


@pytest.mark.parametrize("kind", KINDS)
def test_parameters_reach_every_copy_and_unknown_names_warn_once(make: Maker, kind: str) -> None:
    env = make(kind, Counter(episode_length=100), 2)
    env.reset(0)
    with pytest.warns(UserWarning, match=r"does not read the environment parameters \['wind'\]"):
        env.set_parameters({"gravity": 3.0, "wind": 1.0})
    env.set_parameters({"gravity": {"sampler_type": "uniform", "sampler_parameters": {"min_value": 5, "max_value": 6}}})
    env.step()  # the copies read parameters when they next observe
    first_column = env.batch(WALKER).obs[0][:, 0]
    assert ((first_column >= 6) & (first_column <= 7)).all()


def test_close_is_idempotent_and_stops_workers(make: Maker) -> None:
    guarded = len(shm._cleanups)
    env = make("process", Counter(), 2)
    assert isinstance(env, ProcessVectorEnv)
    pids, names = env.worker_pids, env.shared_memory_names
    assert len(pids) == 2 and all(shm_exists(n) for n in names)
    assert len(shm._cleanups) == guarded + 1
    env.close()
    env.close()
    assert not any(shm_exists(n) for n in names)
    assert len(shm._cleanups) == guarded  # nothing left for the SIGTERM handler to run
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_shared_memory_is_unlinked_when_the_env_is_collected() -> None:
    env = ProcessVectorEnv(Counter(), 2, num_workers=1)
    name = env.shared_memory_names[0]
    batch = env.batch(WALKER)
    del env
    gc.collect()
    assert not shm_exists(name)
    assert batch.obs[0].shape == (4, 3)  # arrays kept by the caller stay readable


def test_shared_memory_is_unlinked_after_an_error_in_the_parent() -> None:
    names = []
    with pytest.raises(ZeroDivisionError), ProcessVectorEnv(Counter(), 2, num_workers=1) as env:
        assert isinstance(env, ProcessVectorEnv)
        names = env.shared_memory_names
        env.reset(0)
        _ = 1 / 0
    assert names and not shm_exists(names[0])


PARENT = textwrap.dedent(
    """
    import os, signal, sys, time
    # Ctrl+C and SIGTERM as a program in the foreground gets them, whatever this test run inherits:
    # a background job starts with SIGINT ignored, and Python keeps it ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    from tests.envs.test_python_steppers import Counter
    from mlagents_fast.envs.python.process import ProcessVectorEnv
    how, start_method = sys.argv[1:]
    env = ProcessVectorEnv(Counter(), 2, num_workers=2, start_method=start_method)
    env.reset(0)
    print(env.shared_memory_names[0], *env.worker_pids, flush=True)
    if how == "exit":  # a worker killed and restarted, then a plain exit without close()
        os.kill(env.worker_pids[0], signal.SIGKILL)
        env.step()
        env.step()
        sys.exit(0)
    env.step()
    print("stepping", flush=True)  # the test sends its signal once the loop runs
    while True:
        env.step()
        time.sleep(0.001)
    """
)


def child_environ() -> dict[str, str]:
    """This environment, with the repository importable in a fresh interpreter."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


# Limits on waits for events (a line, an exit): safety nets for a stuck test, never a pace to keep.
SAFETY_NET_S = 120.0


def read_line(process: subprocess.Popen[bytes]) -> str:
    """The next line the process prints, waited for (its stdout must be unbuffered: bufsize=0)."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], SAFETY_NET_S)
    assert ready, f"no line from the process in {SAFETY_NET_S:.0f} s"
    line = process.stdout.readline()  # byte by byte: nothing beyond the line is taken from the pipe
    assert line, "it exited: " + process.communicate(timeout=SAFETY_NET_S)[1].decode()
    return line.decode()


def run_parent(how: str, start_method: str, sig: int | None) -> tuple[int, str, str, list[int]]:
    """Run PARENT in a fresh interpreter; returns its exit code, stderr, block name and first worker pids."""
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, how, start_method],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
        env=child_environ(),
        cwd=ROOT,
    )
    try:
        line = read_line(parent).split()
        name, pids = line[0], [int(p) for p in line[1:]]
        assert shm_exists(name)
        if sig is not None:
            stepping = read_line(parent)
            assert stepping == "stepping\n", stepping
            parent.send_signal(sig)
        _, stderr = parent.communicate(timeout=SAFETY_NET_S)  # until it exits and its workers let go of the pipes
        return parent.returncode, stderr.decode(), name, pids
    finally:
        parent.kill()


@pytest.mark.parametrize(
    "how, start_method, sig, code",
    [
        ("loop", "forkserver", signal.SIGTERM, -signal.SIGTERM),
        # Python ends an uncaught KeyboardInterrupt by re-raising SIGINT on itself.
        ("loop", "forkserver", signal.SIGINT, -signal.SIGINT),
        ("exit", "spawn", None, 0),
    ],
)
def test_shared_memory_is_unlinked_when_the_parent_stops(
    how: str, start_method: str, sig: int | None, code: int
) -> None:
    exit_code, stderr, name, pids = run_parent(how, start_method, sig)
    assert exit_code == code, stderr
    assert not shm_exists(name)
    deadline = time.monotonic() + SAFETY_NET_S
    assert [pid for pid in pids if not _wait_gone(pid, deadline)] == []  # the workers end with their parent
    # Workers attach without the resource tracker: it has nothing to clean up or warn about.
    assert "resource_tracker" not in stderr and "leaked" not in stderr, stderr


def test_a_process_that_only_attaches_leaves_the_block_alone() -> None:
    # A process outside multiprocessing gets its own resource tracker; on Python < 3.13 a plain
    # SharedMemory(name) would register the block there, and that tracker would unlink it (and
    # warn of a leak) when the process exits.
    block = shm.create_block(64)
    try:
        script = (
            "import sys; from mlagents_fast.envs.python.shm import attach_block; "
            "b = attach_block(sys.argv[1]); b.buf[0] = 7"
        )
        done = subprocess.run(
            [sys.executable, "-c", script, block.name],
            capture_output=True,
            env=child_environ(),
            timeout=30,
            check=False,
        )
        assert done.returncode == 0 and not done.stderr, done.stderr.decode()
        assert shm_exists(block.name) and block.buf[0] == 7
    finally:
        block.release()
    assert not shm_exists(block.name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purpose
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _wait_gone(pid: int, deadline: float) -> bool:
    """Whether process `pid` (not a child of ours) ends before `deadline` (a time.monotonic()).

    Waits on a pidfd, readable once the process has ended, where the system has them."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    except (AttributeError, OSError):  # no pidfd here: look every 50 ms
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        return not _alive(pid)
    try:
        return bool(select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0])
    finally:
        os.close(fd)


def test_auto_mode_times_a_copy_and_picks_the_faster_stepper() -> None:
    assert measure_step_s(Counter(busy_s=300e-6), max_steps=20) >= 300e-6
    assert not prefer_processes(10e-6, 8, 2)  # CartPole-like: synchronising costs more than it saves
    assert prefer_processes(100e-6, 8, 2)
    assert not prefer_processes(1.0, 8, 1) and not prefer_processes(1.0, 1, 2)
    with make_stepper(Counter(), 4) as cheap:
        assert isinstance(cheap, InProcessVectorEnv)
    with make_stepper(Counter(busy_s=300e-6), 4, num_workers=2) as slow:
        assert isinstance(slow, ProcessVectorEnv) and slow.num_workers == 2
    with pytest.raises(ValueError, match="mode must be one of"):
        make_stepper(Counter(), 2, mode="threads")


def test_process_options_are_checked_whichever_stepper_runs() -> None:
    """A misspelt option (say timeout_wait for timeout_s) fails even where the in-process stepper
    is chosen, instead of being dropped; the process stepper's own values are checked too."""
    with pytest.raises(TypeError, match=r"unknown process option\(s\) timeout_wait"):
        make_stepper(Counter(), 2, mode="inprocess", timeout_wait=5)
    with make_stepper(Counter(), 2, mode="inprocess", timeout_s=5, max_lifetime_restarts=0) as env:
        assert isinstance(env, InProcessVectorEnv)
    with pytest.raises(ValueError, match="timeout_s must be a positive"):
        ProcessVectorEnv(Counter(), 1, timeout_s=0)
    with pytest.raises(ValueError, match="max_lifetime_restarts and restarts_rate_limit_n must be -1"):
        ProcessVectorEnv(Counter(), 1, max_lifetime_restarts=-2)
