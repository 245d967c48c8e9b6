"""SAC with ML-Agents' semantics: trainer.py (collection and the off-policy update ratio),
update.py (one gradient step, top to bottom) with losses.py, networks.py (actor, Q networks)."""

from mlagents_fast.trainers.sac.trainer import SACTrainer

__all__ = ["SACTrainer"]
