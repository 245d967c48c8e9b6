"""gymnasium environments as `PythonEnv` copies (adapter.py); gymnasium is imported only there."""
