"""Plain-Python ports of the native environments, rule for rule and draw for draw.

They exist to check the native code: a parity test steps a port and the native
environment side by side from the same seed and compares every observation, reward
and flag. They also serve as the slow baseline in benchmarks. Not for training.
ML-Agents' test environments have theirs in `mlagents_fast.envs.testing` (PythonEnv
classes); both draw from the native generator's port, `mlagents_fast.envs.native.rng`.
"""

from mlagents_fast.envs.testing.reference.driver import ReferenceVectorEnv, make_reference

__all__ = ["ReferenceVectorEnv", "make_reference"]
