"""Environments for tests and parity checks, not for training runs.

ML-Agents' test environments (trainers/tests/simple_test_envs.py): their game (game.py), the
Python copies (simple.py, multi_agent.py), the optimal policy and a demonstration recorder
(recorder.py), and the native builds `make("SimpleEnvironment", ...)` runs (native.py).
reference/ holds plain-Python ports of the built-in native environments.
"""
