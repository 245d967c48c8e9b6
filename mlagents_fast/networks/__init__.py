"""Torch networks with ML-Agents' shapes: observation encoders, Swish MLP bodies, the
Gaussian / masked multi-categorical action model, value heads, and the actor and critic."""
