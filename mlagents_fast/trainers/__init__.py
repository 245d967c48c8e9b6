"""Trainers: PPO (on-policy, ML-Agents' semantics) over the batched environments."""
