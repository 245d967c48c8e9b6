"""PPO with ML-Agents' semantics: trainer.py puts the pieces together, update.py and loss.py
hold the update's math, gradient_step.py chooses how the networks run (fused/ has the fast path)."""

from mlagents_fast.trainers.ppo.trainer import PPOTrainer

__all__ = ["PPOTrainer"]
