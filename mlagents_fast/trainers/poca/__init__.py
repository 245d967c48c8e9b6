"""MA-POCA (ML-Agents' `trainer_type: poca`): PPO's actor with a centralized critic over groups."""

from mlagents_fast.trainers.poca.trainer import POCATrainer

__all__ = ["POCATrainer"]
