"""Environments written in Python (`PythonEnv`, env.py) and the steppers that batch their copies:
in this process (inprocess.py) or in worker processes over shared memory (process.py, with
pool.py, restarts.py, _worker.py and shm.py), both writing rows laid out by layout.py and
checked by checks.py (the shared base is stepper.py); auto.py chooses between them."""
