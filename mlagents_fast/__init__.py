"""mlagents-fast: a drop-in, high-throughput re-implementation of the Unity ML-Agents trainer."""

__version__ = "0.1.0"
