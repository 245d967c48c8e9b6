"""The built-in C++ environments' Python side: `NativeVectorEnv` (env.py) over the compiled
module, loaded only when an environment is made, and the native generator's port (rng.py)."""
