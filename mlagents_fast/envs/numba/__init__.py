"""Environments written as numba functions: `NumbaVectorEnv` (env.py), its compiled loops
(driver.py), per-copy random numbers for user code (rng.py) and an example, CartPole (cartpole.py)."""
