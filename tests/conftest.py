"""Suite-wide settings.

torch runs on one intra-op thread, as `mlagents-learn` does on a 2-core machine. With more
threads than free cores (CI may run the suite beside other work), every parallel torch op waits
for a time slice: measured here, a [128, 64] x [64, 64] product took 6 ms on two threads with a
second process busy, against 10 us on one. No test measures speed; this keeps them from
depending on the machine's load.
"""

import torch

torch.set_num_threads(1)
