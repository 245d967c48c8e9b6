"""Array kernels: advantages and returns, observation normalization."""
