"""Environments: the batched VectorEnv contract, built-in native environments and steppers."""

from mlagents_fast.envs.vector import EnvError, StepBatch, VectorEnv

__all__ = ["EnvError", "StepBatch", "VectorEnv"]
