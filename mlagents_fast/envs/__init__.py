"""Environments: the batched VectorEnv contract, built-in native environments and steppers.

For example (any name `registered_names()` lists, or "gym:<id>"):

from mlagents_fast.envs import make
env = make("3DBall", num_envs=4, seed=1)          # or "gym:CartPole-v1", "SimpleEnvironment", ...
batch, actions = env.batch("3DBall"), env.actions("3DBall")
actions.continuous[:] = 0.0
env.step()                                        # batch.obs, batch.reward, batch.terminated ...
"""

from mlagents_fast.envs.registry import UnknownEnvironmentError, make, register, registered_names
from mlagents_fast.envs.vector import EnvError, StepBatch, VectorEnv

__all__ = [
    "EnvError",
    "StepBatch",
    "UnknownEnvironmentError",
    "VectorEnv",
    "make",
    "register",
    "registered_names",
]
