"""Host memory for an accelerator's copies."""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import NDArray


def pinned(shape: tuple[int, ...], dtype: np.dtype[np.generic]) -> NDArray[np.generic]:
    """Page-locked host memory (for an accelerator's non-blocking copies), seen as numpy."""
    return torch.empty(shape, dtype=torch.from_numpy(np.empty(0, dtype)).dtype, pin_memory=True).numpy()
