"""Trainers: what every algorithm shares, and one subpackage per algorithm.

- protocol.py: the `Trainer` the run loop drives (act, record, stats, checkpoint state);
- registry.py: `trainer_type` -> trainer, with ML-Agents' `mlagents.trainer_type` plugins;
- controller.py: the run loop over every behavior (summaries, checkpoints, Ctrl+C);
- stats.py: a trainer's stats, reduced before the loop sees them; schedules.py, flat_adam.py;
- ppo/: PPO.
"""
