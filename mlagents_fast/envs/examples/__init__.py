"""Example environments built on the engine's APIs."""
